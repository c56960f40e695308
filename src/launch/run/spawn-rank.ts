import { spawn, type ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import type { LogFiles } from './log-files.js';
import type { OwnedGroup } from './terminate.js';
import { Tail } from './logs.js';
import type { RankPlan } from '../types.js';

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
 * Starts a rank in its own process group (`detached`: the group takes its children along when signalled), with its
 * output on pipes (`interactive`: on ddprun's own stdin, stdout and stderr). Everything that can fail is prepared
 * before the rank exists: its folders, by the attempt's prepareRankFolders() (all of them before the first rank
 * starts), and its log files here.
 */
export function spawnRank(rank: RankPlan, logFiles: LogFiles, tailLines: number, interactive = false): RankProcess {
  const logs = {
    stdout: rank.stdoutLog ? logFiles.open(rank.stdoutLog) : undefined,
    stderr: rank.stderrLog ? logFiles.open(rank.stderrLog) : undefined,
  };
  const [file, ...args] = rank.argv as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: rank.cwd,
    env: { ...process.env, ...rank.env },
    detached: true,
    stdio: interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
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
