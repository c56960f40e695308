import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, openSync, rmSync, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LogFiles } from './log-files.js';
import type { OwnedGroup } from './terminate.js';
import { Tail } from './logs.js';
import type { RankPlan } from '../../model/types.js';

/** One rank's process, as the group tracks it. */
export interface RankProcess {
  plan: RankPlan;
  child: ChildProcess;
  /** Set synchronously by a successful spawn: a stop() before the 'spawn' event still reaches this rank. */
  pid: number | undefined;
  /** The rank's process group, signalled only while it is provably ours (undefined when the spawn failed). */
  group: OwnedGroup | undefined;
  startedAt: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  endedAt: number | undefined;
  tail: Tail;
  logs: { stdout: WriteStream | undefined; stderr: WriteStream | undefined };
  /** Settles when both output streams have ended (or were closed at teardown). */
  streamsDone: Promise<void>;
  /** Settles when the rank has exited, or failed to spawn. */
  done: Promise<void>;
  markDone: () => void;
}

/**
 * Real pipes for the ranks' output. Node gives a child's `'pipe'` stdio a Unix socket pair, where every small write
 * (a line) takes a whole socket buffer entry: ≈ 140 lines fit before the rank blocks, and each read of the launcher
 * takes a few. A pipe holds 64 KiB of lines, read many at a time, at less kernel time per line on both sides. Node
 * cannot make an anonymous pipe, so these are FIFOs in the run's private folder (0700), made for the whole attempt
 * with one `mkfifo`, each removed as soon as both its ends are open.
 */
export class RankPipes {
  private constructor(private readonly paths: string[]) {}

  /** FIFOs for `count` streams in a fresh folder under `runDir`; undefined (socket pairs then) when that fails. */
  static make(runDir: string, count: number): RankPipes | undefined {
    try {
      const dir = mkdtempSync(path.join(runDir, 'pipes-'));
      const paths = Array.from({ length: count }, (_, i) => path.join(dir, String(i)));
      execFileSync('mkfifo', ['-m', '600', '--', ...paths], { stdio: 'ignore' });
      return new RankPipes(paths);
    } catch {
      return undefined;
    }
  }

  /** The next FIFO's two ends: the launcher's (non-blocking, read) and the rank's (write); undefined when used up. */
  take(): { read: number; write: number } | undefined {
    const fifo = this.paths.shift();
    if (fifo === undefined) return undefined;
    let read: number | undefined;
    try {
      read = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      if (!fstatSync(read).isFIFO()) throw new Error(`${fifo} is not a FIFO`);
      return { read, write: openSync(fifo, constants.O_WRONLY) }; // does not block: its reader is open
    } catch {
      if (read !== undefined) closeSync(read);
      return undefined; // this rank gets socket pairs
    } finally {
      rmSync(fifo, { force: true });
    }
  }
}

/** The rank's stdio: its output on `pipes` when there are any, else on Node's socket pairs. */
function outputStdio(pipes: RankPipes | undefined): { stdio: StdioOptions; ends: { read: number; write: number }[] } {
  const out = pipes?.take();
  const err = out && pipes?.take();
  if (!out || !err) {
    for (const fd of out ? [out.read, out.write] : []) closeSync(fd);
    return { stdio: ['ignore', 'pipe', 'pipe'], ends: [] };
  }
  return { stdio: ['ignore', out.write, err.write], ends: [out, err] };
}

/** Hands the FIFOs' read ends to `child` as its stdout and stderr, where readers look; closes the write ends here. */
function attachPipes(child: ChildProcess, ends: { read: number; write: number }[]): void {
  if (ends.length === 0) return;
  for (const { write } of ends) closeSync(write); // the rank has its copies: EOF comes when it (and its children) close
  const [out, err] = ends.map(({ read }) => new Socket({ fd: read, readable: true, writable: false }) as Readable);
  Object.assign(child, { stdout: out, stderr: err });
  child.stdio.splice(1, 2, out ?? null, err ?? null);
}

/**
 * Starts a rank in its own process group (`detached`: the group takes its children along when signalled), with its
 * output on pipes (`interactive`: on ddprun's own stdin, stdout and stderr). Everything that can fail is prepared
 * before the rank exists: its folders, by the attempt's prepareRankFolders() (all of them before the first rank
 * starts), and its log files here.
 */
export function spawnRank(
  rank: RankPlan,
  logFiles: LogFiles,
  tailLines: number,
  interactive = false,
  pipes?: RankPipes,
): RankProcess {
  const logs = {
    stdout: rank.stdoutLog ? logFiles.open(rank.stdoutLog) : undefined,
    stderr: rank.stderrLog ? logFiles.open(rank.stderrLog) : undefined,
  };
  const [file, ...args] = rank.argv as [string, ...string[]];
  const output = interactive ? undefined : outputStdio(pipes);
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: rank.cwd,
      env: { ...process.env, ...rank.env },
      detached: true,
      stdio: output ? output.stdio : 'inherit',
    });
  } catch (error) {
    for (const end of output?.ends ?? []) [end.read, end.write].forEach((fd) => closeSync(fd));
    throw error;
  }
  if (output) attachPipes(child, output.ends);
  let markDone = () => {};
  const done = new Promise<void>((resolve) => (markDone = resolve));
  return {
    plan: rank,
    child,
    pid: child.pid,
    group: undefined,
    startedAt: Date.now(),
    exitCode: null,
    signal: null,
    endedAt: undefined,
    tail: new Tail(tailLines),
    logs,
    streamsDone: Promise.resolve(),
    done,
    markDone,
  };
}

/** Closes a rank's log files once everything was written to them. */
export function closeLogs(rank: RankProcess): Promise<void>[] {
  return [rank.logs.stdout, rank.logs.stderr].flatMap((log) =>
    log ? [new Promise<void>((resolve) => log.end(resolve))] : [],
  );
}
