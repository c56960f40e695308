import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, listFiles, runCli, useSandboxes } from './helpers.js';
import { ptyJob, type PtyJob } from '../helpers/pty.js';
import { torchPython } from '../helpers/python.js';
import { standinEnv, standinTrainArgs } from '../helpers/standin.js';
import { listRuns } from '../../src/store/read.js';
import { closestSubcommand } from '../../src/cli/did-you-mean.js';
import { resolveOptions } from '../../src/launch/resolve/options.js';

const box = useSandboxes();
const python = await torchPython();
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');
const jobs: PtyJob[] = [];
afterEach(() => jobs.splice(0).forEach((j) => j.kill()));

describe('did you mean (#24 item 13)', () => {
  it('names the subcommand a mistyped first word meant, exit 2, nothing started or written', async () => {
    const s = box();
    for (const [typed, meant] of [
      [['trian', 'x.py'], 'train'],
      [['pss'], 'ps'],
      [['stpo', 'abc'], 'stop'],
      [['dcotor'], 'doctor'],
    ] as const) {
      const run = await runCli(typed, { env: s.env, cwd: s.out });
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        `error: Unknown command \`${typed[0]}\`, and no file of that name to run. Did you mean \`ddprun ${meant}\`? (See \`ddprun --help\`.)\n`,
      );
    }
    expect(listFiles(s.dir)).toEqual([]);
  });

  it('launches a file whose name looks like a typo, and suggests nothing for a word far from every command', async () => {
    const s = box();
    // A Python script named like a typo of `ps`: it is what runs.
    writeFileSync(path.join(s.out, 'pss'), 'print("pss ran")\n');
    const script = await runCli(['--quiet', 'pss'], { env: s.env, cwd: s.out });
    expect(script.stderr).not.toContain('Did you mean');
    if (python) expect(script).toMatchObject({ code: 0, stdout: '[rank0]:pss ran\n' });
    const far = await runCli(['experiment.py'], { env: s.env, cwd: s.out });
    expect(far.code).toBe(2);
    expect(far.stderr).not.toContain('Did you mean');
    expect(closestSubcommand('train.py')).toBeUndefined();
    expect(closestSubcommand('lgos')).toBe('logs');
    expect(closestSubcommand('hlep')).toBe('help');
    expect(closestSubcommand('foo')).toBeUndefined();
  });
});

describe('small inconsistencies (#24 item 17)', () => {
  it('every subcommand’s help says `Usage: ddprun <command> …`', async () => {
    const s = box();
    for (const command of ['train', 'gc', 'ps', 'logs', 'show', 'stop', 'stacks', 'resume', 'ui', 'slurm', 'doctor']) {
      const run = await runCli([command, '--help'], { env: s.env });
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^Usage: ddprun ${command} `));
    }
    const main = await runCli(['--help'], { env: s.env });
    expect(main.stdout).toMatch(/^Usage: ddprun \[options\]/m);
  });

  it('ps with nothing to list prints the sentence alone, no header', async () => {
    const s = box();
    const ps = await runCli(['ps'], { env: s.env });
    expect(ps).toMatchObject({ code: 0, stdout: '' });
    expect(ps.stderr).toBe('No run is running. `ddprun ps --all` lists finished runs too.\n');
    const all = await runCli(['ps', '--all'], { env: s.env });
    expect(all).toMatchObject({ code: 0, stdout: '', stderr: 'No run is recorded.\n' });
  });

  it('the warning prefix is `ddprun: warning:` on a pipe, with --json and on a terminal', async () => {
    const s = box();
    const args = ['--redirects', '3', '--no-python', 'true'];
    const expected = "ddprun: warning: --redirects/--tee without --log-dir: the ranks' log files go to";
    const pipe = await runCli(args, { env: s.env });
    expect(pipe.stderr).toContain(expected);
    const json = await runCli(['--json', ...args], { env: s.env });
    expect(json.stderr).toContain(expected);
    const job = ptyJob([process.execPath, CLI, ...args], { ...s.env, NO_COLOR: '1' });
    jobs.push(job);
    expect(await job.ended).toEqual({ exited: 0 });
    expect(job.output()).toContain(expected);
    expect(`${pipe.stderr}${json.stderr}${job.output()}`).not.toMatch(/(^|[^:] )warning:/m);
  });

  it('stop of a finished run exits 0 and says it signalled nothing', async () => {
    const s = box();
    const done = await runCli(['--no-python', 'true'], { env: s.env });
    expect(done.code).toBe(0);
    const [run] = listRuns({ stateDir: s.state, all: true });
    const stop = await runCli(['stop', run!.id], { env: s.env });
    expect(stop).toEqual({
      code: 0,
      signal: null,
      stdout: '',
      stderr: `ddprun: The run ${run!.id} is not running: it has ended (status succeeded, exit code 0). Nothing was signalled.\n`,
    });
  });

  it("the library's nprocPerNode error lists the words it takes", async () => {
    await expect(resolveOptions({ entry: { command: 'true' }, nprocPerNode: 'two' as never })).rejects.toThrow(
      "Expected the `nprocPerNode` option to be an integer from 1 to 4096, or 'auto', 'gpu' or 'cpu', got `\"two\"` (string)",
    );
  });
});

describe('a failed foreground run names itself (#24 item 6)', () => {
  it('prints its run id with the show and logs commands, and no resume hint for a script', async () => {
    const s = box();
    const run = await runCli(['--no-python', 'sh', '-c', 'exit 3'], { env: s.env });
    expect(run.code).toBe(3);
    const [rec] = listRuns({ stateDir: s.state, all: true });
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(
      `ddprun: run ${rec!.id} failed (exit code 3); its summary and logs: ddprun show ${rec!.id}, ddprun logs ${rec!.id}`,
    );
    expect(run.stderr).not.toContain('ddprun resume');
    const quiet = await runCli(['--quiet', '--no-python', 'sh', '-c', 'exit 3'], { env: s.env });
    expect(quiet.stderr).not.toContain('ddprun show');
    const unrecorded = await runCli(['--no-record', '--no-python', 'sh', '-c', 'exit 3'], { env: s.env });
    expect(unrecorded.stderr).not.toContain('ddprun show');
  });

  it.skipIf(!python)('a failed trainer run with a last.pt prints `ddprun resume <id>`', async () => {
    const s = box();
    const run = await runCli(standinTrainArgs(s.out), {
      env: standinEnv(s.env, '0.02', { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1' }),
      cwd: s.out,
    });
    expect(run.code, run.stderr).toBe(1);
    const [rec] = listRuns({ stateDir: s.state, all: true });
    const lastPt = path.join(s.out, 'runs', 'exp', 'weights', 'last.pt');
    expect(run.stderr.trimEnd().split('\n').slice(-2)).toEqual([
      `ddprun: run ${rec!.id} failed (exit code 1); its summary and logs: ddprun show ${rec!.id}, ddprun logs ${rec!.id}`,
      `ddprun: resume it from ${lastPt}: ddprun resume ${rec!.id}`,
    ]);
  });
});

describe("a script's own usage error (#24 item 14)", () => {
  it.skipIf(!python)(
    'exit 2 from argparse is named as the script’s, and a ddprun flag after the script is named in a hint',
    async () => {
      const s = box();
      const script = path.join(s.out, 'train.py');
      writeFileSync(
        script,
        'import argparse\np = argparse.ArgumentParser()\np.add_argument("--epochs", type=int)\np.parse_args()\n',
      );
      const run = await runCli([script, '--epochs', '1', '--nproc-per-node', '2'], { env: s.env, cwd: s.out });
      // The rank's own code, as torchrun gives it: but named as the script's usage error, not ddprun's.
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'script-usage: Rank 0 exited 2: the script refused its own command line (unrecognized arguments: --nproc-per-node 2).',
      );
      expect(run.stderr).toContain('This is the script’s usage error, not ddprun’s (ddprun started the ranks)');
      expect(run.stderr).not.toMatch(/^error: /m);
      expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(
        `ddprun: hint: --nproc-per-node came after the script, so the script got it, not ddprun: put ddprun's flags before the script (ddprun --nproc-per-node … ${script} …)`,
      );
      // Without a ddprun flag after the script: the root cause alone.
      const own = await runCli([script, '--epochs', 'x'], { env: s.env, cwd: s.out });
      expect(own.code).toBe(2);
      expect(own.stderr).toContain('script-usage: Rank 0 exited 2');
      expect(own.stderr).not.toContain('ddprun: hint:');
    },
  );
});
