// torchrun's log layout and error files: each run in its own `<log dir>/<run id>_<random>/attempt_<k>/<local rank>/`,
// the failing rank's error.json kept there, and the root cause in ddprun's own TORCHELASTIC_ERROR_FILE.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, useSandboxes } from '../cli/helpers.js';
import { torchPython } from '../helpers/python.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bin');
const python = await torchPython();
const run = python ? describe : describe.skip;

const box = useSandboxes();
beforeAll(() => ensureBuilt());

run('--log-dir and error files as under torchrun', () => {
  it('gives each run its own folder: two runs with one --log-dir never share a file', async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    for (const marker of ['first', 'second']) {
      const result = await runCli(
        ['--nproc-per-node=2', '--rdzv-id=job5', `--log-dir=${logDir}`, '--no-python', 'sh', '-c', `echo ${marker}`],
        { env: s.env, cwd: s.dir },
      );
      expect(result.code, result.stderr).toBe(0);
    }
    const runs = readdirSync(logDir).sort();
    expect(runs).toHaveLength(2);
    for (const name of runs) expect(name).toMatch(/^job5_[0-9a-f]{8}$/);
    const contents = runs.map((name) => readFileSync(path.join(logDir, name, 'attempt_0', '1', 'stdout.log'), 'utf8'));
    expect(contents.sort()).toEqual(['first\n', 'second\n']);
  }, 120_000);

  it('keeps \\r progress updates and a last line without \\n as written in the log files', async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    const result = await runCli(
      ['--tee=3', `--log-dir=${logDir}`, '--no-python', 'printf', 'step 1\\rstep 2\\rdone\\nlast'],
      { env: s.env, cwd: s.dir },
    );
    expect(result.code, result.stderr).toBe(0);
    const [runDir] = readdirSync(logDir);
    expect(readFileSync(path.join(logDir, runDir as string, 'attempt_0', '0', 'stdout.log'), 'utf8')).toBe(
      'step 1\rstep 2\rdone\nlast',
    );
    // The console shows the newest state of the line, and ends the unfinished last line.
    expect(result.stdout).toContain('[rank0]:done\n[rank0]:last\n');
  }, 60_000);

  it("shows a \\r progress line's states as lines of its rank with the torchrun backend, as torchrun's tee does", async () => {
    const s = box();
    const printf = 'printf "step 1\\rstep 2\\rdone $RANK\\n"';
    const args = ['--backend=torchrun', '--nproc-per-node=2', '--no-python', 'sh', '-c', printf];
    const result = await runCli(args, { env: s.env, cwd: s.dir });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => /step|done/.test(line));
    // torchrun's tee reads the rank's log file with Python's universal newlines: each `\r` ends a line.
    expect(lines.sort()).toEqual([
      '[rank0]:done 0',
      '[rank0]:step 1',
      '[rank0]:step 2',
      '[rank1]:done 1',
      '[rank1]:step 1',
      '[rank1]:step 2',
    ]);
  }, 120_000);

  it("keeps the failing rank's error.json and writes the root cause to TORCHELASTIC_ERROR_FILE", async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    const agentErrorFile = path.join(s.dir, 'agent_error.json');
    const result = await runCli(['--nproc-per-node=2', `--log-dir=${logDir}`, path.join(BIN, 'fail_record.py'), 'm1'], {
      env: { ...s.env, TORCHELASTIC_ERROR_FILE: agentErrorFile },
      cwd: s.dir,
    });
    expect(result.code).toBe(1);
    const [runDir] = readdirSync(logDir);
    const rankError = JSON.parse(
      readFileSync(path.join(logDir, runDir as string, 'attempt_0', '1', 'error.json'), 'utf8'),
    ) as { message: { message: string } };
    expect(rankError.message.message).toContain('boom from the dropin test');
    const agent = JSON.parse(readFileSync(agentErrorFile, 'utf8')) as {
      message: { message: string; extraInfo: { py_callstack: string; timestamp: string } };
      errorCode: number;
    };
    expect(agent.message.message).toContain('boom from the dropin test');
    expect(agent.message.extraInfo.py_callstack).toContain('Traceback');
    expect(agent.message.extraInfo.timestamp).toMatch(/^\d+$/);
    expect(agent.errorCode).toBe(1);
  }, 120_000);
});
