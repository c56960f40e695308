import { closeSync, openSync, readFileSync, createReadStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURES, WORKER, useSandboxes } from './helpers.js';
import { rankBlocks, readPids, until, waitGone } from '../helpers/procs.js';
import { processState, ptyJob, type PtyJob } from '../helpers/pty.js';

const box = useSandboxes();
const jobs: PtyJob[] = [];
afterEach(() => jobs.splice(0).forEach((j) => j.kill()));

function start(argv: readonly string[], env: NodeJS.ProcessEnv): PtyJob {
  const job = ptyJob(argv, { ...env, NO_COLOR: '1' });
  jobs.push(job);
  return job;
}

const ready = (job: PtyJob, n: number) => () => (job.output().match(/\]:ready/g)?.length ?? 0) >= n;

describe('on a terminal', () => {
  it('Ctrl-Z stops the ranks with ddprun, fg continues them, and Ctrl-C still ends the run', async () => {
    const s = box();
    const job = start([process.execPath, CLI, '--nproc-per-node', '2', WORKER, 'sleep', s.out], s.env);
    await job.waitFor(ready(job, 2), 'both ranks to be ready');
    const ranks = readPids(s.out);
    expect(ranks).toHaveLength(2);
    job.type('\x1a');
    await job.waitFor(() => job.reports.some((r) => r.stopped === 20), 'ddprun to stop (SIGTSTP)');
    await job.waitFor(() => ranks.every((pid) => processState(pid) === 'T'), 'the ranks to be stopped');
    job.cont();
    await job.waitFor(() => ranks.every((pid) => processState(pid) === 'S'), 'the ranks to run again');
    job.type('\x03');
    expect(await job.ended).toEqual({ exited: 130 });
    expect(await waitGone(ranks, 5000)).toEqual([]);
  });

  it('a hang-up stops the run and ddprun exits 129 (no crash restoring the dead terminal)', async () => {
    const s = box();
    const job = start([process.execPath, CLI, '--nproc-per-node', '2', WORKER, 'sleep', s.out], s.env);
    await job.waitFor(ready(job, 2), 'both ranks to be ready');
    const ranks = readPids(s.out);
    job.hangUp();
    expect(await job.ended).toEqual({ exited: 129 });
    expect(await waitGone(ranks, 5000)).toEqual([]);
  });

  it('after a hang-up, the summary still reaches a stderr redirected to a file', async () => {
    const s = box();
    const err = path.join(s.dir, 'stderr.log');
    const script = `exec "$0" "$@" 2>${err}`;
    const job = start(
      ['sh', '-c', script, process.execPath, CLI, '--nproc-per-node', '2', WORKER, 'sleep', s.out],
      s.env,
    );
    await job.waitFor(ready(job, 2), 'both ranks to be ready');
    const ranks = readPids(s.out);
    job.hangUp();
    expect(await job.ended).toEqual({ exited: 129 });
    expect(readFileSync(err, 'utf8')).toMatch(/ddprun stopped by SIGHUP in .* \(1 attempt\)\n {2}rank {2}exit/);
    expect(await waitGone(ranks, 5000)).toEqual([]);
  });

  it('with stderr on the terminal and stdout piped to a reader that does not read, the rank blocks instead of ddprun buffering', async () => {
    const s = box();
    const fifo = path.join(s.dir, 'stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    const lines = 300_000;
    const flood = path.join(FIXTURES, 'launch', 'flood.py');
    const job = start(
      ['sh', '-c', `exec "$0" "$@" >${fifo}`, process.execPath, CLI, flood, s.out, String(lines)],
      s.env,
    );
    // Opening the read side lets ddprun's open of the FIFO complete; nothing is read yet.
    const fd = openSync(fifo, 'r');
    try {
      await until('the rank to start', () => readPids(s.out).length > 0);
      const [rank] = readPids(s.out) as [number];
      // Blocked: the rank has written nothing for 8 polls in a row, long before its 300,000 lines.
      expect(await rankBlocks(rank)).toBe(true);
      const received = await new Promise<number>((resolve) => {
        let count = 0;
        createReadStream('', { fd, autoClose: false })
          .setEncoding('utf8')
          .on('data', (d) => (count += String(d).split('\n').length - 1))
          .on('end', () => resolve(count));
      });
      expect(received).toBe(lines);
      expect(await job.ended).toEqual({ exited: 0 });
    } finally {
      closeSync(fd);
    }
  });
});
