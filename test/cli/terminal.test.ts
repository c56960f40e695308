import { closeSync, openSync, readFileSync, createReadStream, writeFileSync } from 'node:fs';
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

/**
 * What a terminal shows after `output`: text overwrites from the cursor, `\r`/`\n` move it, and the escapes ddprun
 * and log-update use (cursor up/down/column, erase line, erase below) act as on a VT100; other escapes change nothing visible.
 */
function screen(output: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (rows[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const ch = output[i] as string;
    const csi = ch === '\x1b' ? /^\[([?\d;]*)([A-Za-z])/.exec(output.slice(i + 1)) : null;
    if (csi) {
      const n = Number(csi[1] || '0');
      if (csi[2] === 'A') row = Math.max(0, row - (n || 1));
      else if (csi[2] === 'B') row += n || 1;
      else if (csi[2] === 'G') col = Math.max(0, n - 1);
      else if (csi[2] === 'K' && n === 0) line().length = Math.min(line().length, col);
      else if (csi[2] === 'K' && n === 2) rows[row] = [];
      else if (csi[2] === 'J' && n === 0) {
        line().length = Math.min(line().length, col);
        rows.length = row + 1;
      }
      i += csi[0].length;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') row += 1;
    else line()[col++] = ch;
  }
  return Array.from(rows, (r) =>
    Array.from(r ?? [], (c) => c ?? ' ')
      .join('')
      .trimEnd(),
  );
}

/** Writes `text` (a Python script) into `dir`; returns its path. */
function writeScript(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A rank to debug: what isatty() says, an input() prompt, then a breakpoint(). */
const DEBUG_ME = `import sys
print("isatty", sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty(), flush=True)
name = input("name? ")
print("hello", name, flush=True)
answer = 6 * 7
breakpoint()
print("after pdb", flush=True)
`;

/** Records its pid in the folder argv[1] names; rank 1 waits at an input() prompt, the others sleep. */
const WAIT_INPUT = `import os, sys, time
rank = os.environ["RANK"]
open(os.path.join(sys.argv[1], rank), "w").write(str(os.getpid()))
if rank == "1":
    input(f"rank {rank} waits> ")
else:
    time.sleep(120)
`;

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

  it("renders a rank's \\r progress updates as one updating line, the [rankN]: prefix re-emitted after each \\r", async () => {
    const s = box();
    // tqdm's way: `\r` then the new state; the last line has no `\n`.
    const script = 'for i in 1 2 3; do printf "\\rstep $i"; sleep 1.2; done; printf "\\rdone\\nlast"';
    // A terminal with a size, so that the status line is drawn below the ranks' lines too.
    const sized = 'stty cols 100 rows 30; exec "$0" "$@"';
    const job = start(['sh', '-c', sized, process.execPath, CLI, '--no-python', 'sh', '-c', script], s.env);
    expect(await job.ended).toEqual({ exited: 0 });
    const output = job.output();
    expect(output).toContain('1 running');
    // Each shown state was drawn with its prefix after a carriage return, in place of the one before.
    expect(output).toContain('[rank0]:step 1');
    expect(output).toMatch(/\r\[rank0\]:step 2/);
    const shown = screen(output).filter((l) => l.startsWith('[rank0]:'));
    expect(shown).toEqual(['[rank0]:done', '[rank0]:last']);
    expect(screen(output).filter((l) => l.includes('running'))).toEqual([]);
  });

  it("the status line shows a script's overall progress from its bar (epoch n/N) and labels the inner bar (#24 item 15)", async () => {
    const s = box();
    // tqdm's default format, a description naming the epoch; the bar stays at 12% long enough to be drawn.
    const script =
      'printf "\\rEpoch 11/300:  12%%|#         | 12/100 [00:02<00:15,  5.60it/s]"; sleep 3; printf "\\rdone\\n"';
    const sized = 'stty cols 160 rows 30; exec "$0" "$@"';
    const job = start(['sh', '-c', sized, process.execPath, CLI, '--no-python', 'sh', '-c', script], s.env);
    await job.waitFor(() => job.output().includes('this epoch 12%'), 'the labelled bar on the status line');
    expect(await job.ended).toEqual({ exited: 0 });
    const drawn = job
      .output()
      .split(/\r|\n/)
      .find((l) => l.includes('this epoch 12%'));
    expect(drawn).toMatch(/1 running · .* · epoch 11\/300 · this epoch 12% \(15\.0s left\)/);
  });

  it('--interactive gives the one rank the terminal: isatty() is true, input() and pdb read what is typed, no prefix', async () => {
    const s = box();
    const script = writeScript(s.dir, 'debug_me.py', DEBUG_ME);
    const job = start([process.execPath, CLI, '--interactive', '--no-python', 'python3', script], {
      ...s.env,
      PYTHONBREAKPOINT: 'pdb.set_trace',
    });
    await job.waitFor(() => job.output().includes('name? '), 'the prompt of input()');
    job.type('ada\r');
    await job.waitFor(() => job.output().includes('(Pdb) '), 'the pdb prompt');
    job.type('p answer\r');
    await job.waitFor(() => job.output().includes('42'), 'pdb to print the variable');
    job.type('c\r');
    expect(await job.ended).toEqual({ exited: 0 });
    const shown = screen(job.output());
    expect(shown).toContain('isatty True True True');
    expect(shown).toContain('name? ada');
    expect(shown).toContain('hello ada');
    expect(shown).toContain('after pdb');
    expect(job.output()).not.toContain('[rank0]:');
  });

  it('--interactive with --log-dir: the terminal rank gets no log files (its output is not captured), the others do', async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    const job = start(
      [
        process.execPath,
        CLI,
        '--nproc-per-node=2',
        '--local-ranks-filter=0',
        '--interactive',
        '--log-dir',
        logDir,
      ].concat(['--no-python', 'sh', '-c', 'echo "out of $LOCAL_RANK"']),
      s.env,
    );
    expect(await job.ended).toEqual({ exited: 0 });
    expect(screen(job.output())).toContain('out of 0');
    const files = execFileSync('find', [logDir, '-type', 'f', '-printf', '%P\\n'], { encoding: 'utf8' });
    expect(
      files
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^[^/]*\//, ''))
        .sort(),
    ).toEqual(['attempt_0/1/stderr.log', 'attempt_0/1/stdout.log']);
  });

  it('--interactive with --local-ranks-filter: Ctrl-C at the prompt still ends the whole group, nothing left', async () => {
    const s = box();
    const script = writeScript(s.dir, 'wait_input.py', WAIT_INPUT);
    const job = start(
      [process.execPath, CLI, '--nproc-per-node=2', '--local-ranks-filter=1', '--interactive'].concat([
        '--no-python',
        'python3',
        script,
        s.out,
      ]),
      s.env,
    );
    await job.waitFor(() => job.output().includes('rank 1 waits> '), 'rank 1 to prompt');
    await job.waitFor(() => readPids(s.out).length === 2, 'both ranks to record their pids');
    const ranks = readPids(s.out);
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
