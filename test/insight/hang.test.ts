import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch, type LaunchEvents } from 'ddprun';
import { runCli, useSandboxes } from '../cli/helpers.js';
import { useCleanups } from '../helpers/launch.js';
import { until } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';
import { fixture, hangJob, hangLine } from './helpers.js';

const python = (await torchPython()) ?? undefined;
const box = useSandboxes();
const { tempDir } = useCleanups();

describe.skipIf(!python)('hangs', () => {
  it('stops a 2-rank job hung in dist.barrier() with --hang-timeout 3 --on-hang stop, with both ranks’ stacks', async () => {
    const s = box();
    const run = await runCli(['--hang-timeout', '3', '--on-hang', 'stop', ...hangJob(python!)], { env: s.env });
    process.stdout.write(`--- console output of the hang test ---\n${run.stdout}${run.stderr}\n---\n`);
    expect(run.code).toBe(124);
    expect(run.stderr).toMatch(
      /^ddprun: hang: no rank printed a line or used CPU for \d+\.\d s \(idle: ranks 0, 1\)\. Python stacks \(all threads\):$/m,
    );
    const sleepLine = hangLine('time.sleep(600)');
    const barrierCall = hangLine('    dist.barrier()');
    expect(run.stderr).toMatch(
      new RegExp(`^ {2}rank 0 \\(pid \\d+\\) is in \`sleepy_step\` at hang\\.py:${sleepLine}$`, 'm'),
    );
    expect(run.stderr).toMatch(
      new RegExp(
        `^ {2}rank 1 \\(pid \\d+\\) is in \`barrier\` \\(distributed_c10d\\.py:\\d+\\), called from \`wait_for_rank0\` at hang\\.py:${barrierCall}$`,
        'm',
      ),
    );
    expect(run.stderr).toContain(`File "${fixture('hang.py')}", line ${sleepLine} in sleepy_step`);
    expect(run.stderr).toContain(`File "${fixture('hang.py')}", line ${barrierCall} in wait_for_rank0`);
    expect(run.stderr).toContain('ddprun: stopping the job (--on-hang stop).');
    expect(run.stderr).toMatch(/ddprun failed in .* \(1 attempt\)\n/);
    expect(run.stderr).toMatch(
      / {2}hang: No rank printed a line or used CPU for \d+\.\d s: rank 0 is in `sleepy_step`/,
    );
  });

  it.each([
    ['computes silently', 'busy'],
    ['prints', 'chatty'],
  ])('never calls a rank that %s hung', async (_, mode) => {
    const hangs: LaunchEvents['hang'][0][] = [];
    const handle = launch({
      entry: { script: fixture('quiet_work.py'), args: [mode, '7'] },
      nprocPerNode: 2,
      hangTimeoutMs: 2000,
      onHang: 'stop',
      console: false,
      python,
    });
    handle.on('hang', (e) => hangs.push(e));
    const result = await handle.result;
    expect(hangs).toEqual([]);
    expect(result.exitCode).toBe(0);
  });

  it('dumps the stacks of a rank that outlives the grace period, before the SIGKILL', async () => {
    const stacks: LaunchEvents['stacks'][0][] = [];
    const handle = launch({
      entry: { script: fixture('stuck_teardown.py') },
      nprocPerNode: 2,
      gracePeriodMs: 1500,
      stackDumps: true,
      console: false,
      python,
    });
    handle.on('stacks', (e) => stacks.push(e));
    const result = await handle.result;
    expect(result.rootCause).toMatchObject({ rank: 1, exitCode: 3 });
    expect(result.ranks[0]).toMatchObject({ rank: 0, signal: 'SIGKILL' });
    expect(stacks).toHaveLength(1);
    expect(stacks[0]!.reason).toBe('teardown');
    expect(stacks[0]!.ranks.map((r) => r.rank)).toEqual([0]);
    expect(stacks[0]!.ranks[0]!.where).toMatch(/^`stuck_in_step` at stuck_teardown\.py:\d+$/);
  });

  it('dumps every live rank’s stacks on demand with handle.dumpStacks()', async () => {
    const handle = launch({
      entry: { script: fixture('hang.py') },
      nprocPerNode: 2,
      stackDumps: true,
      console: false,
      python,
    });
    const lines: string[] = [];
    handle.on('line', (e) => lines.push(e.text));
    await until('both ranks to be ready', () => lines.filter((l) => l.endsWith('ready')).length === 2);
    const ranks = await handle.dumpStacks();
    handle.stop();
    await handle.result;
    expect(ranks.map((r) => r.rank)).toEqual([0, 1]);
    expect(ranks[0]!.where).toBe(`\`sleepy_step\` at hang.py:${hangLine('time.sleep(600)')}`);
    expect(ranks[1]!.stacks).toContain('in wait_for_rank0');
  });

  it('refuses dumpStacks() when stack dumps are off', async () => {
    const handle = launch({
      entry: { script: fixture('quiet_work.py'), args: ['chatty', '1'] },
      console: false,
      python,
    });
    await new Promise((r) => handle.on('started', r));
    await expect(handle.dumpStacks()).rejects.toThrow('Stack dumps are off for this launch');
    await handle.result;
  });
});

describe.skipIf(!python)('the stack-dump bootstrap', () => {
  async function envOf(stackDumps: boolean): Promise<Record<string, string>> {
    const dir = tempDir();
    await launch({
      entry: { script: path.resolve('test/fixtures/launch/env_dump.py'), args: [dir] },
      stackDumps,
      masterPort: 29_731,
      console: false,
      python,
    }).result;
    return JSON.parse(readFileSync(path.join(dir, '0.json'), 'utf8')) as Record<string, string>;
  }

  it('leaves the worker environment as it is without stack dumps, and as the rank sees it with them', async () => {
    const off = await envOf(false);
    const on = await envOf(true);
    const perLaunch = ['TORCHELASTIC_ERROR_FILE'];
    const strip = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).filter(([k]) => !perLaunch.includes(k)));
    // Without dumps: exactly the launcher's environment plus the worker contract, nothing of ddprun's own.
    expect(Object.keys(off).filter((k) => k.startsWith('DDPRUN_'))).toEqual(
      Object.keys(process.env).filter((k) => k.startsWith('DDPRUN_')),
    );
    expect(off.PYTHONPATH).toBe(process.env.PYTHONPATH);
    // With dumps, the bootstrap takes its variables back out and restores PYTHONPATH: os.environ is the same.
    expect(strip(on)).toEqual(strip(off));
  });
});
