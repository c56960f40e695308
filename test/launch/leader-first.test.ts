import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURES, runCli, startCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { readPids, until, waitGone } from '../helpers/procs.js';
import { ptyJob, type PtyJob } from '../helpers/pty.js';
import { torchPython } from '../helpers/python.js';
import { listRuns } from '../../src/store/read.js';

const python = await torchPython();
const CHECKPOINT = path.join(FIXTURES, 'launch', 'checkpoint_on_term.py');
/** How many times each way of stopping is tried (`STOP_REPEAT=10` for the 10-of-10 check; the suite runs it once). */
const REPEAT = Number(process.env.STOP_REPEAT ?? 1);
const box = useSandboxes();
const started: { kill(): void }[] = [];
afterEach(() => started.splice(0).forEach((p) => p.kill()));

const args = (s: Sandbox, ...more: string[]) => [
  '--nproc-per-node',
  '2',
  '--grace-period',
  '20',
  ...more,
  CHECKPOINT,
  s.out,
];
const ready = (s: Sandbox) => existsSync(path.join(s.out, 'pids.0')) && existsSync(path.join(s.out, 'pids.1'));

/** The checkpoint each rank saved after its last batch, and every process of the job gone. */
async function expectCheckpointed(s: Sandbox, pids: number[]): Promise<void> {
  expect(existsSync(path.join(s.out, 'ckpt.0')) && existsSync(path.join(s.out, 'ckpt.1'))).toBe(true);
  expect(await waitGone(pids, 5000)).toEqual([]);
}

function inTerminal(argv: readonly string[], env: NodeJS.ProcessEnv): PtyJob {
  const job = ptyJob(argv, { ...env, NO_COLOR: '1' });
  started.push(job);
  return job;
}

describe.skipIf(!python)('leader-first stop: DataLoader workers outlive their main process', () => {
  it.each(Array.from({ length: REPEAT }, (_, i) => i))(
    'SIGTERM to ddprun: each rank draws one more batch from its workers and saves its checkpoint (%i)',
    async () => {
      const s = box();
      const run = startCli(args(s), { env: s.env });
      started.push(run.child);
      await until('both ranks to be ready', () => ready(s));
      // The main processes and their 2 DataLoader workers each.
      const pids = readPids(s.out).filter(Boolean);
      expect(pids).toHaveLength(6);
      run.child.kill('SIGTERM');
      const end = await run.done;
      expect(end.stdout).toContain('checkpoint saved');
      await expectCheckpointed(s, pids);
    },
  );

  it.each(Array.from({ length: REPEAT }, (_, i) => i))(
    '`ddprun stop`: each rank draws one more batch and saves its checkpoint (%i)',
    async () => {
      const s = box();
      const run = startCli(args(s), { env: s.env });
      started.push(run.child);
      await until('both ranks to be ready', () => ready(s));
      const pids = readPids(s.out);
      const [record] = listRuns({ stateDir: s.state });
      const stop = await runCli(['stop', record!.id], { env: s.env });
      expect(stop.code, stop.stderr).toBe(0);
      expect((await run.done).stdout).toContain('checkpoint saved');
      await expectCheckpointed(s, pids);
    },
  );

  it.each(Array.from({ length: REPEAT }, (_, i) => i))(
    'one Ctrl-C on `timeout 300 ddprun …` (two SIGINTs at once) is one stop: the checkpoints are saved (%i)',
    async () => {
      const s = box();
      // The terminal's SIGINT reaches timeout and ddprun (one foreground group); timeout relays its copy to ddprun.
      const job = inTerminal(['timeout', '300', process.execPath, CLI, ...args(s)], s.env);
      await job.waitFor(() => ready(s), 'both ranks to be ready');
      const pids = readPids(s.out);
      job.type('\x03');
      expect(await job.ended).toEqual({ exited: 130 });
      expect(job.output()).toContain('checkpoint saved');
      await expectCheckpointed(s, pids);
    },
  );

  it('SIGTERM to `timeout 300 ddprun …` (which relays it to ddprun, then to its whole group) is one stop', async () => {
    const s = box();
    const child = spawn('timeout', ['300', process.execPath, CLI, ...args(s)], {
      env: s.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await until('both ranks to be ready', () => ready(s));
    const pids = readPids(s.out);
    child.kill('SIGTERM');
    await exited;
    expect(out).toContain('checkpoint saved');
    await expectCheckpointed(s, pids);
  });

  it('a second Ctrl-C, well after the first, still SIGKILLs the ranks at once (not after the grace period)', async () => {
    const s = box();
    // The ranks ignore SIGTERM and the grace period is 10 minutes: only the second Ctrl-C can end this test in time.
    const job = inTerminal([process.execPath, CLI, ...args(s, '--grace-period', '600')], {
      ...s.env,
      IGNORE_TERM: '1',
    });
    await job.waitFor(() => ready(s), 'both ranks to be ready');
    const pids = readPids(s.out);
    job.type('\x03');
    await job.waitFor(() => job.output().includes('ddprun: stopping'), 'the first stop to be announced');
    await new Promise((r) => setTimeout(r, 300));
    job.type('\x03');
    expect(await job.ended).toEqual({ exited: 130 });
    expect(job.output()).toMatch(/0 +SIGKILL/);
    expect(await waitGone(pids, 5000)).toEqual([]);
  });

  it('a rank that ignores SIGTERM is SIGKILLed with its workers when the grace period is over, nothing left behind', async () => {
    const s = box();
    const run = startCli(['--nproc-per-node', '2', '--grace-period', '2', CHECKPOINT, s.out], {
      env: { ...s.env, IGNORE_TERM: '1' },
    });
    started.push(run.child);
    await until('both ranks to be ready', () => ready(s));
    const pids = readPids(s.out);
    expect(pids).toHaveLength(6);
    const stoppedAt = Date.now();
    run.child.kill('SIGTERM');
    const end = await run.done;
    // The grace period was waited out (a lower bound, not a timing): only then came the SIGKILL.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1900);
    expect(end.stdout).not.toContain('checkpoint saved');
    expect(await waitGone(pids, 5000)).toEqual([]);
  });
});
