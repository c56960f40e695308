import type { Readable } from 'node:stream';
import type { ConsoleOutput } from './console-output.js';
import type { FailedRank } from '../../insight/failure.js';
import { GroupLifecycle, type GroupState } from './group-state.js';
import { LogFiles } from './log-files.js';
import { prepareRankFolders } from './rank-folders.js';
import { Tail } from './logs.js';
import type { Watchdog } from './pdeathsig.js';
import {
  agentPolicy,
  pipeOutput,
  rankPolicy,
  type ChunkSink,
  type Demux,
  type OutputContext,
  type OutputPolicy,
} from './rank-output.js';
import { RankPipes, closeLogs, spawnRank, type RankProcess } from './spawn-rank.js';
import { readStat, runMark } from '../../os/proc.js';
import { reapGroups, signalOwnedGroup, type OwnedGroup } from './terminate.js';
import { interactiveLocalRank } from './interactive.js';
import type { EventPublisher } from '../../model/event-stream.js';
import type { LaunchPlan, RankPlan, RankResult, ResolvedOptions } from '../../model/types.js';
import type { OutputWatcher } from '../../progress/rank0.js';

export { rankPrefix, shownOnConsole, type Demux } from './rank-output.js';

/** Lines of a rank's stderr kept for the root cause when it writes no error file. */
const STDERR_TAIL_LINES = 40;
const AGENT_TAIL_LINES = 400;
/**
 * How long to wait for the ranks' pipes to drain once every group is gone. Until then the pipes stay open, so a
 * rank's child that outlives the rank keeps writing (no SIGPIPE) while the rest of the group runs; only a process
 * that escaped its group (`setsid`) can hold a pipe past this.
 */
const STREAM_DRAIN_MS = 2000;

export interface GroupOutcome {
  ranks: RankResult[];
  /** The first rank to fail, unless the group was stopped first. */
  failed: FailedRank | undefined;
  /** Ranks that exited with an error of their own after the first failure (the root cause may be among them). */
  laterFailures: FailedRank[];
}

/** What the group writes to besides events: the watched console, and the launch's log files. */
export interface GroupIo {
  console?: ConsoleOutput;
  logFiles?: LogFiles;
  /** Native backend: a watcher of rank 0's decoded output (progress bars, the trainer's run folder), per attempt. */
  watchRank0?: () => OutputWatcher;
}

/**
 * One attempt: spawns every local rank in its own process group, streams its output, and on the first failure
 * stops all the others at once (leader-first: main process → rest of its group → SIGKILL after the grace period).
 * Its lifecycle is GroupState.
 */
export class RankGroup {
  private readonly ranks: RankProcess[] = [];
  private readonly life = new GroupLifecycle();
  private failed: FailedRank | undefined;
  private readonly laterFailures: FailedRank[] = [];
  private graceTimer: NodeJS.Timeout | undefined;
  /** While stopping: the signal the main processes got (the rest of each group gets it once its main has exited). */
  private stopSignal: NodeJS.Signals = 'SIGTERM';
  /** While stopping: when the one grace period of the stop ends. */
  private stopDeadline: number | undefined;
  /** When any rank last wrote to stdout or stderr (the hang detector's "printed a line"). */
  lastOutputAt = Date.now();
  /** Runs once the grace period of a stop is over, before the SIGKILL (stack dumps of the ranks still there). */
  beforeKill: (() => Promise<void>) | undefined;
  /**
   * Under the torchrun backend: stderr tails of the ranks, by `r<rank>` or, where the rank is unknown, `l<localRank>`.
   */
  private readonly demuxedTails = new Map<string, Tail>();
  private readonly output: OutputContext;
  private readonly logFiles: LogFiles;
  private readonly watchRank0: (() => OutputWatcher) | undefined;
  /** FIFOs for the ranks' output, made before the first rank starts (undefined: Node's socket pairs). */
  private rankPipes: RankPipes | undefined;

  constructor(
    private readonly resolved: ResolvedOptions,
    private readonly plan: LaunchPlan,
    private readonly events: EventPublisher,
    private readonly watchdog: Watchdog,
    private readonly demux?: Demux,
    io: GroupIo = {},
  ) {
    this.output = { resolved, events, console: io.console };
    this.logFiles = io.logFiles ?? new LogFiles(resolved.logDir, (message) => events.publish('warning', { message }));
    this.watchRank0 = io.watchRank0;
  }

  get state(): GroupState {
    return this.life.state;
  }

  /** The process groups of the ranks started so far (each rank leads its own), signalled only while ours. */
  groups(): OwnedGroup[] {
    return this.ranks.flatMap((r) => (r.group ? [r.group] : []));
  }

  /**
   * Stops every rank leader-first: each rank's main process gets `signal`, the rest of its process group only once
   * that main process has exited (its DataLoader workers outlive its checkpoint), and whatever is left when the grace
   * period is over gets SIGKILL. The grace period is counted once, from now, for every rank. A group already stopping
   * is left to its timer.
   */
  stop(signal: NodeJS.Signals): void {
    if (!this.life.can('stopping')) return;
    this.life.to('stopping');
    this.stopSignal = signal;
    this.stopDeadline = Date.now() + this.resolved.gracePeriodMs;
    for (const rank of this.ranks) signalLeaderFirst(rank, signal);
    this.graceTimer = setTimeout(() => void this.dumpThenKill(), this.resolved.gracePeriodMs);
    this.graceTimer.unref();
  }

  /** The grace period is over: the stacks of the ranks still there are dumped (beforeKill), then they are killed. */
  private async dumpThenKill(): Promise<void> {
    if (this.beforeKill && !this.life.force.now && this.liveRanks().length > 0) await this.beforeKill().catch(() => {});
    this.kill();
  }

  /** Ranks whose main process has not exited yet. */
  liveRanks(): { rank: number; localRank: number; pid: number; errorFile: string }[] {
    return this.ranks.flatMap((r) =>
      r.pid !== undefined && r.endedAt === undefined
        ? [{ rank: r.plan.rank, localRank: r.plan.localRank, pid: r.pid, errorFile: r.plan.errorFile }]
        : [],
    );
  }

  /** SIGKILLs every group now (a second Ctrl-C, or the grace period is over). */
  kill(): void {
    if (this.life.state === 'ended') return;
    if (this.life.can('killing')) this.life.to('killing');
    else this.life.force.now = true; // reaping: the reaper SIGKILLs what is left at once
    for (const group of this.groups()) signalOwnedGroup(group, 'SIGKILL');
  }

  async run(): Promise<GroupOutcome> {
    // Every rank's folders first: one bad path starts no rank of the attempt.
    prepareRankFolders(this.plan.ranks, this.logFiles);
    this.rankPipes = RankPipes.make(this.resolved.runDir, 2 * this.plan.ranks.length);
    await this.startAll();
    await Promise.all(this.ranks.map((r) => r.done));
    await this.teardown();
    return { failed: this.failed, laterFailures: this.laterFailures, ranks: this.ranks.map(rankResult) };
  }

  private async startAll(): Promise<void> {
    try {
      for (const rank of this.plan.ranks) {
        if (this.life.state !== 'starting') break;
        await this.start(rank);
      }
      if (this.life.state === 'starting') this.life.to('running');
    } catch (error) {
      // A rank could not be set up (its log file, its folder): the ranks already started must not outlive this.
      this.kill();
      await Promise.all(this.ranks.map((r) => r.done));
      await reapGroups(this.groups(), 0, this.life.force);
      await this.closeStreams();
      throw error;
    }
  }

  /** Every rank has exited: what they left in their groups is asked to stop (unless a stop did), then killed. */
  private async teardown(): Promise<void> {
    const signalled = this.life.state !== 'running';
    this.life.to('reaping');
    if (!signalled) for (const group of this.groups()) signalOwnedGroup(group, 'SIGTERM');
    // A stop's grace period is one for the whole group: what is left of it, not a fresh one.
    const graceMs =
      this.stopDeadline === undefined ? this.resolved.gracePeriodMs : Math.max(0, this.stopDeadline - Date.now());
    await reapGroups(this.groups(), graceMs, this.life.force);
    clearTimeout(this.graceTimer);
    await this.closeStreams();
    this.life.to('ended');
  }

  /**
   * Waits for the pipes to drain, closes them, then the log files. A pipe still open STREAM_DRAIN_MS after the groups
   * are gone is held by a process that escaped them, and is closed; one paused by a slow reader is waited for.
   */
  private async closeStreams(): Promise<void> {
    const drained = Promise.all(this.ranks.map((r) => r.streamsDone));
    while (!(await settlesWithin(drained, STREAM_DRAIN_MS)) && this.pipes().some((p) => p.isPaused()));
    for (const pipe of this.pipes()) pipe.destroy();
    await drained;
    await Promise.all(this.ranks.flatMap(closeLogs));
  }

  private pipes(): Readable[] {
    return this.ranks.flatMap((r) =>
      [r.child.stdout, r.child.stderr].filter((p): p is Readable => p !== null && !p.destroyed),
    );
  }

  private start(plan: RankPlan): Promise<void> {
    // An agent's stderr ends with its failure summary (and a traceback): keep more of it.
    const interactive = !this.demux && interactiveLocalRank(this.resolved) === plan.localRank;
    const tailLines = this.demux ? AGENT_TAIL_LINES : STDERR_TAIL_LINES;
    const rank = spawnRank(plan, this.logFiles, tailLines, interactive, this.rankPipes);
    rank.group = ownedGroup(rank, this.resolved.runDir);
    // Registered before any event can fire, so that a stop() from a 'started' listener reaches this rank too.
    this.ranks.push(rank);
    const watcher = plan.rank === 0 && !this.demux && !interactive ? this.watchRank0?.() : undefined;
    // The interactive rank writes to the terminal itself: no pipes to read.
    if (!interactive)
      rank.streamsDone = Promise.all([this.pipe(rank, 'stdout', watcher), this.pipe(rank, 'stderr', watcher)]).then(
        () => watcher?.end(),
      );
    rank.child.on('exit', (code, signal) => this.onExit(rank, code, signal));
    return new Promise<void>((resolve) => {
      if (rank.pid !== undefined) this.watchdog.watch(rank.pid, readStat(rank.pid)?.start);
      rank.child.once('spawn', () => {
        if (rank.pid !== undefined) this.emitStarted(plan, rank.pid);
        resolve();
      });
      rank.child.once('error', (error: NodeJS.ErrnoException) => {
        if (rank.child.pid !== undefined) return;
        this.onSpawnError(rank, error);
        resolve();
      });
    });
  }

  /** Streams one of a rank's pipes through its output policy (a native rank's, or the torchrun agent's). */
  private pipe(rank: RankProcess, stream: 'stdout' | 'stderr', watcher?: OutputWatcher): Promise<void> {
    const base = this.demux
      ? agentPolicy(this.output, this.demux, stream, rank.tail, (r, l) => this.tailOf(r, l), this.plan.attempt)
      : rankPolicy(this.output, rank.plan, stream, rank.tail);
    // Rank 0's watcher sees the decoded text before the console does.
    const policy: OutputPolicy = watcher
      ? {
          text: (text, valve) => {
            watcher.push(stream, text);
            base.text(text, valve);
          },
          end: (valve) => base.end(valve),
        }
      : base;
    // Whoever keeps the raw output (the run store) gets every chunk as read; under torchrun, each rank's lines.
    const sink = this.demux ? undefined : this.outputEvents(rank.plan, stream);
    return pipeOutput(rank.child[stream] as Readable, rank.logs[stream], this.noteOutput(policy), sink);
  }

  /** `policy`, recording when a rank last wrote anything (the hang detector's "printed a line"). */
  private noteOutput(policy: OutputPolicy): OutputPolicy {
    return {
      text: (chunk, valve) => {
        this.lastOutputAt = Date.now();
        policy.text(chunk, valve);
      },
      end: (valve) => policy.end(valve),
    };
  }

  /** One rank stream's chunks as `output` events, while a sink takes them. */
  private outputEvents(plan: RankPlan, stream: 'stdout' | 'stderr'): ChunkSink {
    const { attempt } = this.plan;
    const { rank, localRank } = plan;
    return (chunk) => {
      if (this.events.wants('output')) this.events.publish('output', { attempt, rank, localRank, stream, chunk });
    };
  }

  private onExit(rank: RankProcess, code: number | null, signal: NodeJS.Signals | null): void {
    rank.exitCode = code;
    rank.signal = signal;
    rank.endedAt = Date.now();
    rank.markDone();
    // Leader-first: the main process is gone (its checkpoint written), so the rest of its group may go now.
    if (this.life.state === 'stopping' && rank.group) signalOwnedGroup(rank.group, this.stopSignal);
    // The failure is recorded before listeners hear of the exit: a stop() from an 'exited' listener keeps it.
    if (code !== 0 || signal !== null) this.recordFailure(rank, rank.pid);
    const { rank: r, localRank } = rank.plan;
    this.events.publish('exited', { attempt: this.plan.attempt, rank: r, localRank, exitCode: code, signal });
  }

  /** The spawn itself failed (no such executable, no permission): this rank failed before it existed. */
  private onSpawnError(rank: RankProcess, error: Error): void {
    rank.exitCode = 127;
    rank.endedAt = Date.now();
    rank.tail.push(`ddprun: cannot start ${rank.plan.argv[0]}: ${error.message}`);
    this.recordFailure(rank, undefined);
    rank.markDone();
  }

  /** The first failure while the group runs is the group's; it stops the others. Later ones are its consequences. */
  private recordFailure(rank: RankProcess, pid: number | undefined): void {
    const { rank: r, localRank, errorFile } = rank.plan;
    const failure: FailedRank = {
      rank: r,
      localRank,
      pid,
      exitCode: rank.exitCode,
      signal: rank.signal,
      exitedAt: new Date(rank.endedAt ?? Date.now()),
      errorFile,
      stderrTail: '',
    };
    if (this.life.acceptsFailure && !this.failed) {
      this.failed = failure;
      this.stop(this.resolved.stopSignal);
    } else if (this.failed && this.failedOnItsOwn(rank)) {
      // An exit code (not our signal): the rank failed on its own, maybe first (a peer's failure can be seen first).
      this.laterFailures.push(failure);
    }
  }

  /** After the first failure: an exit code, or a signal that is neither our SIGTERM nor our SIGKILL. */
  private failedOnItsOwn(rank: RankProcess): boolean {
    const { exitCode: code, signal } = rank;
    return (code !== null && code !== 0) || (signal !== null && signal !== 'SIGTERM' && !this.life.force.now);
  }

  private emitStarted(plan: RankPlan, pid: number): void {
    const { attempt, masterPort } = this.plan;
    this.events.publish('started', { attempt, rank: plan.rank, localRank: plan.localRank, pid, masterPort });
  }

  private tailOf(rank: number, localRank: number): Tail {
    const key = rank >= 0 ? `r${rank}` : `l${localRank}`;
    let tail = this.demuxedTails.get(key);
    if (!tail) this.demuxedTails.set(key, (tail = new Tail(STDERR_TAIL_LINES)));
    return tail;
  }

  /** The stderr tail of a rank, once its streams are drained (under the torchrun backend: by rank, else local rank). */
  stderrTailOf(rank: number, localRank = -1): string {
    if (this.demux) return (this.demuxedTails.get(`r${rank}`) ?? this.demuxedTails.get(`l${localRank}`))?.text() ?? '';
    return this.ranks.find((r) => r.plan.rank === rank)?.tail.text() ?? '';
  }

  /** The torchrun agent's own stderr (its failure summary), once drained. */
  agentStderr(): string {
    return this.ranks[0]?.tail.text() ?? '';
  }
}

/** The rank's process group, signalled only while provably ours (undefined when the spawn failed). */
function ownedGroup(rank: RankProcess, runDir: string): OwnedGroup | undefined {
  const { child } = rank;
  if (child.pid === undefined) return undefined;
  const leaderUnreaped = () => child.exitCode === null && child.signalCode === null;
  return { pgid: child.pid, leaderUnreaped, mark: runMark(runDir) };
}

/**
 * The first step of a stop for one rank: its main process alone gets `signal` while Node has not reaped it (so its
 * pid is still its own); a rank whose main process has already exited has its whole group signalled.
 */
function signalLeaderFirst(rank: RankProcess, signal: NodeJS.Signals): void {
  const { group } = rank;
  if (!group) return;
  if (!group.leaderUnreaped()) {
    signalOwnedGroup(group, signal);
    return;
  }
  try {
    process.kill(group.pgid, signal);
  } catch {
    // ESRCH: it exited just now; its exit handler signals the rest of its group.
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}

function rankResult(r: RankProcess): RankResult {
  return {
    rank: r.plan.rank,
    localRank: r.plan.localRank,
    pid: r.pid,
    exitCode: r.exitCode,
    signal: r.signal,
    durationMs: (r.endedAt ?? Date.now()) - r.startedAt,
  };
}
