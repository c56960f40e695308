import { spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { LineSplitter, Tail, openLog } from './logs.js';
import { outputTapOf, type ChunkSink } from './output-tap.js';
import type { FailedRank } from './failure.js';
import { readStat, runMark } from './proc.js';
import { reapGroups, signalOwnedGroup, type OwnedGroup } from './terminate.js';
import type { Watchdog } from './pdeathsig.js';
import type { LaunchPlan, RankPlan, RankResult, ResolvedOptions } from '../types.js';
import type { OutputWatcher } from '../../progress/rank0.js';

/** Lines of a rank's stderr kept for the root cause when it writes no error file. */
const STDERR_TAIL_LINES = 40;
const AGENT_TAIL_LINES = 400;
/** How long to wait for a rank's pipes to drain after the whole group is gone. */
const STREAM_DRAIN_MS = 2000;

/** Splits a torchrun agent's tee'd output (`[default1]:text`) back into ranks; undefined for the agent's own lines. */
export type Demux = (line: string) => { rank: number; localRank: number; text: string } | undefined;

export interface GroupOutcome {
  ranks: RankResult[];
  /** The first rank to fail, unless the group was stopped first. */
  failed: FailedRank | undefined;
}

interface RankState {
  plan: RankPlan;
  child: ChildProcess;
  pid: number | undefined;
  /** The rank's process group, signalled only while it is provably ours (undefined when the spawn failed). */
  group: OwnedGroup | undefined;
  startedAt: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  endedAt: number | undefined;
  tail: Tail;
  streamsDone: Promise<void>;
  /** Settles when the rank has exited, or failed to spawn. */
  done: Promise<void>;
  logs: WriteStream[];
}

/** `[rank3]:`, or `[local1]:` for a torchrun rank whose global rank is not known. */
export function rankPrefix(rank: number, localRank: number): string {
  return rank >= 0 ? `[rank${rank}]:` : `[local${localRank}]:`;
}

/** Writes to a console stream with back-pressure: a full pipe pauses the rank's output instead of buffering it. */
function forward(target: Writable, source: Readable, text: string): void {
  if (!target.write(text)) {
    source.pause();
    target.once('drain', () => source.resume());
  }
}

/**
 * One attempt: spawns every local rank in its own process group, streams its output, and on the first failure
 * stops all the others at once (signal → grace period → SIGKILL of the whole group).
 */
export class RankGroup {
  private readonly states: RankState[] = [];
  private failed: FailedRank | undefined;
  private stopping = false;
  private readonly force = { now: false };
  private graceTimer: NodeJS.Timeout | undefined;
  /** Under the torchrun backend: stderr tails of the ranks, by `r<rank>` or, where the rank is unknown, `l<localRank>`. */
  private readonly demuxedTails = new Map<string, Tail>();
  /** Under the torchrun backend: the output tap's sinks per demuxed rank and stream. */
  private readonly demuxedSinks = new Map<string, ChunkSink>();

  constructor(
    private readonly resolved: ResolvedOptions,
    private readonly plan: LaunchPlan,
    private readonly events: EventEmitter,
    private readonly watchdog: Watchdog,
    private readonly demux?: Demux,
    /** Native backend: a watcher of rank 0's raw output (progress bars, the trainer's run folder), per attempt. */
    private readonly watchRank0?: () => OutputWatcher,
  ) {}

  /** Stops every rank with `signal` and SIGKILLs after the grace period; a group already stopping is left to its timer. */
  stop(signal: NodeJS.Signals): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const s of this.states) if (s.group) signalOwnedGroup(s.group, signal);
    this.graceTimer = setTimeout(() => this.kill(), this.resolved.gracePeriodMs);
    this.graceTimer.unref();
  }

  /** SIGKILLs every group now (a second Ctrl-C). */
  kill(): void {
    this.stopping = true;
    this.force.now = true;
    for (const s of this.states) if (s.group) signalOwnedGroup(s.group, 'SIGKILL');
  }

  async run(): Promise<GroupOutcome> {
    try {
      for (const rank of this.plan.ranks) {
        if (this.stopping) break;
        await this.start(rank);
      }
    } catch (error) {
      // A rank could not be set up (its log file, its folder): the ranks already started must not outlive this.
      this.kill();
      await Promise.all(this.states.map((s) => s.done));
      await reapGroups(this.groups(), 0, this.force);
      throw error;
    }
    await Promise.all(this.states.map((s) => s.done));
    // Leaders are gone; their children (data-loader workers, anything forked) go too: asked first, then killed.
    const stoppedAlready = this.stopping;
    this.stopping = true;
    for (const s of this.states) if (s.group && !stoppedAlready) signalOwnedGroup(s.group, 'SIGTERM');
    await reapGroups(this.groups(), this.resolved.gracePeriodMs, this.force);
    clearTimeout(this.graceTimer);
    await Promise.all(this.states.map((s) => s.streamsDone));
    await Promise.all(this.states.flatMap((s) => s.logs.map((l) => new Promise<void>((resolve) => l.end(resolve)))));
    return {
      failed: this.failed,
      ranks: this.states.map((s) => ({
        rank: s.plan.rank,
        localRank: s.plan.localRank,
        pid: s.pid,
        exitCode: s.exitCode,
        signal: s.signal,
        durationMs: (s.endedAt ?? Date.now()) - s.startedAt,
      })),
    };
  }

  private groups(): OwnedGroup[] {
    return this.states.flatMap((s) => (s.group ? [s.group] : []));
  }

  private start(rank: RankPlan): Promise<RankState> {
    const { resolved, events } = this;
    // Everything that can fail is prepared before the rank exists.
    mkdirSync(path.dirname(rank.errorFile), { recursive: true, mode: 0o700 });
    const logs = {
      stdout: rank.stdoutLog ? openLog(rank.stdoutLog) : undefined,
      stderr: rank.stderrLog ? openLog(rank.stderrLog) : undefined,
    };
    const [file, ...args] = rank.argv as [string, ...string[]];
    const child = spawn(file, args, {
      cwd: rank.cwd,
      env: { ...process.env, ...rank.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const state: RankState = {
      plan: rank,
      child,
      // Set synchronously by a successful spawn: a stop() before the 'spawn' event still reaches this rank.
      pid: child.pid,
      group:
        child.pid === undefined
          ? undefined
          : {
              pgid: child.pid,
              leaderUnreaped: () => child.exitCode === null && child.signalCode === null,
              mark: runMark(resolved.runDir),
            },
      startedAt: Date.now(),
      exitCode: null,
      signal: null,
      endedAt: undefined,
      // An agent's stderr ends with its failure summary (and a traceback): keep more of it.
      tail: new Tail(this.demux ? AGENT_TAIL_LINES : STDERR_TAIL_LINES),
      streamsDone: Promise.resolve(),
      done: Promise.resolve(),
      logs: [logs.stdout, logs.stderr].filter((l) => l !== undefined),
    };
    // Registered before any event can fire, so that a stop() from a 'started' listener reaches this rank too.
    this.states.push(state);
    let markDone = () => {};
    state.done = new Promise<void>((resolve) => (markDone = resolve));
    const shown = resolved.console && resolved.localRanksFilter.has(rank.localRank);
    const prefix = `[rank${rank.rank}]:`;
    const watcher = rank.rank === 0 && !this.demux ? this.watchRank0?.() : undefined;
    const pipe = (stream: 'stdout' | 'stderr', source: Readable, log: WriteStream | undefined) => {
      const sel = resolved.redirects[rank.localRank] ?? 'none';
      const redirected = sel === 'all' || sel === stream;
      const toConsole = shown && !redirected;
      const target = stream === 'stdout' ? process.stdout : process.stderr;
      let batch: string[] = [];
      // Whoever keeps the raw output (the run store) gets every chunk; under torchrun, each rank's lines.
      const sink = this.demux
        ? undefined
        : outputTapOf(events)?.open(this.plan.attempt, rank.rank, rank.localRank, stream);
      const splitter = new LineSplitter((raw) => {
        const own = this.demux?.(raw);
        if (own) {
          this.demuxedSink(own.rank, own.localRank, stream)?.(`${own.text}\n`);
          if (stream === 'stderr') this.tailOf(own.rank, own.localRank).push(own.text);
          if (resolved.console && resolved.localRanksFilter.has(own.localRank))
            batch.push(`${rankPrefix(own.rank, own.localRank)}${own.text}\n`);
          if (events.listenerCount('line') > 0)
            events.emit('line', { rank: own.rank, localRank: own.localRank, stream, text: own.text });
          return;
        }
        if (this.demux) {
          // The torchrun agent's own lines: no rank of their own.
          this.demuxedSink(-1, -1, stream)?.(`${raw}\n`);
          if (resolved.console) batch.push(`${raw}\n`);
          if (stream === 'stderr') state.tail.push(raw);
          if (events.listenerCount('line') > 0) events.emit('line', { rank: -1, localRank: -1, stream, text: raw });
          return;
        }
        if (toConsole) batch.push(`${prefix}${raw}\n`);
        if (stream === 'stderr') state.tail.push(raw);
        if (events.listenerCount('line') > 0)
          events.emit('line', { rank: rank.rank, localRank: rank.localRank, stream, text: raw });
      });
      source.setEncoding('utf8');
      // Nobody needs this stdout line by line (no listener, no demux): prefix whole chunks at once.
      const bulk = stream === 'stdout' && !this.demux;
      source.on('data', (chunk: string) => {
        log?.write(chunk);
        watcher?.push(stream, chunk);
        sink?.(chunk);
        if (bulk && events.listenerCount('line') === 0) {
          const text = splitter.pushPrefixed(chunk, prefix);
          if (toConsole && text) forward(target, source, text);
          return;
        }
        splitter.push(chunk);
        if (batch.length) {
          const text = batch.join('');
          batch = [];
          forward(target, source, text);
        }
      });
      return new Promise<void>((resolve) => {
        const done = () => {
          splitter.end();
          if (batch.length) target.write(batch.join(''));
          batch = [];
          resolve();
        };
        source.once('end', done);
        source.once('close', done);
      });
    };
    const stdoutDone = pipe('stdout', child.stdout as Readable, logs.stdout);
    const stderrDone = pipe('stderr', child.stderr as Readable, logs.stderr);
    state.streamsDone = Promise.race([
      Promise.all([stdoutDone, stderrDone]).then(() => undefined),
      // A grandchild that escaped its group could hold the pipe open forever; never wait on it past this.
      state.done.then(() => new Promise<void>((resolve) => setTimeout(resolve, STREAM_DRAIN_MS).unref())),
    ]).then(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      watcher?.end();
    });

    child.on('exit', (code, signal) => {
      state.exitCode = code;
      state.signal = signal;
      state.endedAt = Date.now();
      markDone();
      // The failure is recorded before listeners hear of the exit: a stop() from an 'exited' listener keeps it.
      if ((code !== 0 || signal !== null) && !this.stopping && !this.failed) {
        this.failed = {
          rank: rank.rank,
          localRank: rank.localRank,
          pid: state.pid,
          exitCode: code,
          signal,
          exitedAt: new Date(state.endedAt),
          errorFile: rank.errorFile,
          stderrTail: '',
        };
        this.stop('SIGTERM');
      }
      events.emit('exited', {
        attempt: this.plan.attempt,
        rank: rank.rank,
        localRank: rank.localRank,
        exitCode: code,
        signal,
      });
    });

    return new Promise<RankState>((resolve) => {
      if (child.pid !== undefined) this.watchdog.watch(child.pid, readStat(child.pid)?.start);
      child.once('spawn', () => {
        if (child.pid !== undefined) {
          events.emit('started', {
            attempt: this.plan.attempt,
            rank: rank.rank,
            localRank: rank.localRank,
            pid: child.pid,
            masterPort: this.plan.masterPort,
          });
        }
        resolve(state);
      });
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return;
        // The spawn itself failed (no such executable, no permission): this rank failed before it existed.
        state.exitCode = 127;
        state.endedAt = Date.now();
        state.tail.push(`ddprun: cannot start ${file}: ${error.message}`);
        if (!this.stopping && !this.failed) {
          this.failed = {
            rank: rank.rank,
            localRank: rank.localRank,
            pid: undefined,
            exitCode: 127,
            signal: null,
            exitedAt: new Date(),
            errorFile: rank.errorFile,
            stderrTail: '',
          };
          this.stop('SIGTERM');
        }
        markDone();
        resolve(state);
      });
    });
  }

  private demuxedSink(rank: number, localRank: number, stream: 'stdout' | 'stderr'): ChunkSink | undefined {
    const key = `${rank}:${localRank}:${stream}`;
    let sink = this.demuxedSinks.get(key);
    if (!sink) {
      const tap = outputTapOf(this.events);
      if (!tap) return undefined;
      this.demuxedSinks.set(key, (sink = tap.open(this.plan.attempt, rank, localRank, stream)));
    }
    return sink;
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
    return this.states.find((s) => s.plan.rank === rank)?.tail.text() ?? '';
  }

  /** The torchrun agent's own stderr (its failure summary), once drained. */
  agentStderr(): string {
    return this.states[0]?.tail.text() ?? '';
  }
}
