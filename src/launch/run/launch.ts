import { rm } from 'node:fs/promises';
import path from 'node:path';
import { EXIT_PREEMPTED, exitCodeOfRootCause, signalExitCode } from '../../exit-codes.js';
import { commitDiscovery } from '../../python/discovery-cache.js';
import { isMasterPortTaken, rootCauseOf } from '../../insight/failure.js';
import { resolveOptions } from '../resolve/options.js';
import { validateSignal } from '../resolve/validators.js';
import { Watchdog } from './pdeathsig.js';
import { createRunFolder } from './run-folder.js';
import { findFreeNetworkPort } from '../../net/port.js';
import { hostBarrier, joinBarrier, waitForMaster } from './rendezvous.js';
import { ConsoleOutput, type ConsoleStreams } from './console-output.js';
import { ConsoleSink } from './console-sink.js';
import { EmitterSink, EventStream } from './event-stream.js';
import type { EventSink } from '../../model/event-stream.js';
import { LogFiles } from './log-files.js';
import { RankGroup, type GroupIo, type GroupOutcome } from './supervisor.js';
import { AttemptMonitor } from '../../insight/monitor.js';
import { watchRank0 } from '../../progress/rank0.js';
import { RunMetrics } from '../../progress/metrics/run-metrics.js';
import { backendOf } from '../plan/plan-launch.js';
import type { Backend } from './backend.js';
import { LaunchLoop } from './launch-state.js';
import { wireSignals } from './launch-signals.js';
import { preemptionOf } from './preemption.js';
import { TrainerRun } from './trainer-run.js';
import type {
  LaunchHandle,
  LaunchOptions,
  LaunchPlan,
  LaunchResult,
  RankStacks,
  ResolvedOptions,
  RootCause,
} from '../../model/types.js';
import { UsageError } from '../../errors.js';
import { writeBootstrap } from '../../insight/bootstrap.js';
import { RunRecorder } from '../../store/recorder.js';
import { stateDir } from '../../store/paths.js';
import type { ResumedFrom } from '../../store/types.js';
import { newRunId } from '../../store/run-id.js';

/** Fresh ports tried when rank 0 finds MASTER_PORT taken (the port race); these do not count as restarts. */
export const MAX_PORT_RETRIES = 3;
export { STACKS_SIGNAL } from './launch-signals.js';
export { EXIT_HANG } from '../../exit-codes.js';

/** Runs the group under its monitor; the ranks' results carry the monitor's peaks. */
async function runMonitored(
  group: RankGroup,
  monitor: AttemptMonitor,
  watchdog: Watchdog,
  unsubscribe: () => void,
): Promise<GroupOutcome> {
  const outcome = await group.run().finally(() => {
    watchdog.forget();
    unsubscribe();
    monitor.dispose();
  });
  outcome.ranks = monitor.withPeaks(outcome.ranks);
  return outcome;
}

/** What one launch holds while it runs (see `LaunchLoop` for its state). */
interface Running {
  resolved: ResolvedOptions;
  backend: Backend;
  watchdog: Watchdog;
  trainer: TrainerRun | undefined;
  /** The training metrics rank 0 prints or writes (docs/metrics.md), across attempts. */
  metrics: RunMetrics;
  io: GroupIo;
}

/**
 * One launch as an agent loop: resolve, then run attempts (rendezvous → running → restarting …) until one succeeds,
 * fails with no retry left, or a stop ends it. Its state is `LaunchLoop`'s; what differs between the backends is
 * `Backend`'s; trainer mode's concerns are `TrainerRun`'s; the process-wide signal wiring is `wireSignals`'.
 */
class Launch {
  /** The handle's `.on()` listeners: one sink of the stream. */
  readonly handleSink = new EmitterSink();
  /** The launch's one event stream: the caller's sinks, the handle's; the console's and the record's once resolved. */
  readonly events: EventStream;
  readonly loop = new LaunchLoop();
  private group: RankGroup | undefined;
  private monitor: AttemptMonitor | undefined;
  private resolved: ResolvedOptions | undefined;
  private startedAt = Date.now();
  /** The run store's record of this launch, once its options are resolved (unless `record: false`). */
  recorder: RunRecorder | undefined;
  /** The handle's `runId`: chosen now, final once the record exists; undefined when nothing is recorded. */
  runId: string | undefined;

  constructor(
    private readonly options: LaunchOptions | ResolvedOptions,
    private readonly isResolved: boolean,
    private readonly consoleStreams: ConsoleStreams | undefined,
    private readonly argv: readonly string[] | undefined,
    private readonly context: LaunchContext = {},
  ) {
    this.events = new EventStream([...(context.sinks ?? []), this.handleSink]);
    this.runId = (options as { record?: unknown }).record === false ? undefined : newRunId();
  }

  /** Every live rank's Python stacks (stack dumps must be on). */
  async dumpStacks(): Promise<RankStacks[]> {
    if (this.resolved && !this.resolved.insight.stackDumps)
      throw new UsageError(
        'Stack dumps are off for this launch: start it with `stackDumps: true` (CLI: --stack-dumps) or a `hangTimeoutMs`.',
        'stackDumps',
      );
    return this.monitor ? this.monitor.requestStacks() : [];
  }

  /**
   * `signal`: what stops the launch (the signal ddprun got, or stop()'s); the ranks' main processes get `rankSignal`
   * (default: the `stopSignal` option). The first call stops every group leader-first (grace period, then SIGKILL); a
   * second one (a second Ctrl-C) SIGKILLs at once.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM', rankSignal?: NodeJS.Signals): void {
    const force = this.loop.stops > 0;
    const first = this.loop.stop(signal, rankSignal ?? this.resolved?.stopSignal ?? 'SIGTERM');
    // The console (if any) shows the stop notice.
    this.events.publish('stopping', {
      signal,
      force,
      rankSignal: this.loop.rankSignal,
      preempted: this.loop.preemption,
    });
    if (first) this.group?.stop(this.loop.rankSignal!);
    else this.group?.kill();
  }

  /**
   * The console's reader went away (`ddprun … | head -1`, a closed terminal): the run stops as that signal would
   * stop it (exit 141 or 129; the ranks get SIGTERM and the grace period), nothing more is written there, and the
   * log files keep everything. A later real signal or stop() counts as the first.
   */
  private readerGone(as: 'SIGPIPE' | 'SIGHUP'): void {
    if (this.loop.readerGone(as, this.resolved?.stopSignal ?? 'SIGTERM')) this.group?.stop(this.loop.rankSignal!);
  }

  /** Opens the run's record in the store; a store that cannot be written gives one warning and no record. */
  private openRecord(resolved: ResolvedOptions): void {
    if (!resolved.record || !this.runId) {
      this.runId = undefined;
      return;
    }
    this.recorder = RunRecorder.open({
      id: this.runId,
      resolved,
      argv: this.argv,
      stateDir: this.context.stateDir ?? stateDir(),
      ...(this.context.resumedFrom && { resumedFrom: this.context.resumedFrom }),
      warn: (message) => this.warn(message),
    });
    if (this.recorder) this.events.add(this.recorder);
    this.runId = this.recorder?.id;
  }

  /** A `warning` event: the console (if any) shows it, the record keeps it. */
  private warn(message: string): void {
    this.events.publish('warning', { message });
  }

  /** `launch()`: resolve, then run. */
  async run(): Promise<LaunchResult> {
    this.startedAt = Date.now();
    const resolved = this.isResolved
      ? (this.options as ResolvedOptions)
      : await resolveOptions(this.options as LaunchOptions);
    return this.runResolved(resolved);
  }

  /** Runs the resolved launch: its sinks, its record and its folders, then the loop; everything undone after. */
  private async runResolved(resolved: ResolvedOptions): Promise<LaunchResult> {
    this.resolved = resolved;
    const consoleStreams = this.consoleStreams ?? (resolved.console ? process : undefined);
    if (resolved.console && consoleStreams)
      this.events.add(new ConsoleSink(consoleStreams.stderr, resolved.gracePeriodMs));
    commitDiscovery();
    this.openRecord(resolved);
    for (const message of resolved.warnings) this.warn(message);
    const disposers: (() => void)[] = [];
    let trainer: TrainerRun | undefined;
    createRunFolder(resolved.runDir);
    const watchdog = new Watchdog(resolved.runDir);
    try {
      const logFiles = new LogFiles(resolved.logDir, (message) => this.warn(message));
      const io = { logFiles, console: this.watchConsole(resolved, disposers) };
      disposers.push(...wireSignals(resolved, this.signalTarget()));
      trainer = await TrainerRun.start(resolved, watchdog, this.startedAt, this.events, disposers);
      const metrics = new RunMetrics(this.events, resolved.cwd, this.startedAt);
      metrics.start();
      try {
        const backend = backendOf(resolved);
        const result = await this.attempts({ resolved, backend, watchdog, trainer, metrics, io });
        result.durationMs = Date.now() - this.startedAt;
        trainer?.finish(result);
        return result;
      } finally {
        trainer?.tracker.stop();
        metrics.finish();
      }
    } finally {
      // Every group is empty by now: the watchdog goes first, whatever the clean-up below throws.
      this.loop.to('done');
      watchdog.dispose();
      for (const dispose of disposers.reverse()) dispose();
      await trainer?.cleanup();
      await rm(resolved.runDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private signalTarget(): Parameters<typeof wireSignals>[1] {
    return {
      stop: (signal) => this.stop(signal),
      signalled: (signal) => {
        if (this.loop.stops === 0)
          this.loop.preemption ??= preemptionOf(signal, this.recorder?.stopRequested() ?? false);
        this.stop(signal);
      },
      groups: () => this.group?.groups() ?? [],
      requestStacks: () => void this.monitor?.requestStacks().catch(() => undefined),
    };
  }

  /** The loop: one attempt after another (see `LaunchState`), until one ends the launch. */
  private async attempts(run: Running): Promise<LaunchResult> {
    const { resolved, backend } = run;
    const { loop } = this;
    for (;;) {
      const port = resolved.masterPort ?? (await findFreeNetworkPort());
      const plan = backend.plan(resolved, loop.attempt, port, run.trainer?.entryFile);
      if (backend.ownsAttempts) {
        if (resolved.insight.stackDumps) writeBootstrap(resolved.runDir);
        loop.to('rendezvous');
        await this.meetNodes(resolved, port, loop.attempt === 0 && loop.portRetries === 0);
      }
      if (loop.stopping) return this.stopped([]);
      loop.to('running');
      const { outcome, group, monitor } = await this.runAttempt(run, plan);
      // --on-hang stop: the hang is the root cause (whatever the stopped ranks' exits say).
      if (backend.ownsAttempts && monitor.hang) return this.failed(monitor.hang, outcome.ranks);
      // A stop that came after a failure keeps the failure's root cause (and ends the restarts).
      if (loop.stopping && !outcome.failed) return this.stopped(outcome.ranks);
      if (!outcome.failed) return this.succeeded(outcome.ranks);
      const failed = { ...outcome, failed: outcome.failed };
      const warn = (message: string) => this.warn(message);
      const { sampler } = monitor;
      const rootCause = await backend.rootCause({ resolved, plan, group, outcome: failed, port, sampler, warn });
      if (!backend.ownsAttempts || loop.stopping) return this.failed(rootCause, outcome.ranks);
      // The port race: rank 0 could not bind the port we chose while creating the process group (whichever rank
      // failed first). Nothing else is: a rank that failed for its own reasons is the user's failure.
      if (
        !resolved.masterPortFixed &&
        loop.portRetries < MAX_PORT_RETRIES &&
        rankZeroLostPort(plan, group, outcome, rootCause, port)
      ) {
        loop.retryPort();
        await this.retryPort(resolved, port);
        continue;
      }
      if (loop.attempt >= resolved.maxRestarts) return this.failed(rootCause, outcome.ranks);
      loop.restart();
      await this.restart(run, rootCause);
    }
  }

  /** Runs one attempt's group under its monitor (the monitor is a sink of the stream while the attempt runs). */
  private async runAttempt(
    run: Running,
    plan: LaunchPlan,
  ): Promise<{ outcome: GroupOutcome; group: RankGroup; monitor: AttemptMonitor }> {
    const { resolved, backend, watchdog, io } = run;
    const { attempt } = plan;
    const tracker = run.trainer?.tracker;
    const group = new RankGroup(resolved, plan, this.events, watchdog, backend, {
      ...io,
      watchRank0: () => watchRank0(this.events, tracker, run.metrics),
    });
    this.group = group;
    const monitor = new AttemptMonitor(resolved, this.events, attempt, group);
    // torchrun's agent is no Python rank of ours: its stacks are not asked for.
    if (backend.ownsAttempts) this.monitor = monitor;
    const outcome = await runMonitored(group, monitor, watchdog, this.events.add(monitor));
    this.group = undefined;
    this.monitor = undefined;
    return { outcome, group, monitor };
  }

  /**
   * Static rendezvous: on the first try of the first attempt no node starts a rank until every node joined (node 0
   * counts them); later, the other nodes wait for node 0's master port.
   */
  private async meetNodes(resolved: ResolvedOptions, port: number, first: boolean): Promise<void> {
    const isStopping = () => this.loop.stopping;
    if (resolved.maxNodes > 1 && first) {
      if (resolved.nodeRank === 0)
        await hostBarrier(resolved.masterAddr, port, resolved.maxNodes, resolved.rdzvTimeoutMs, isStopping);
      else await joinBarrier(resolved.masterAddr, port, resolved.nodeRank, resolved.rdzvTimeoutMs, isStopping);
    } else if (resolved.maxNodes > 1 && resolved.nodeRank > 0)
      await waitForMaster(resolved.masterAddr, port, resolved.rdzvTimeoutMs, isStopping);
  }

  /** The port race lost: the same attempt again on a fresh port (not a restart). */
  private async retryPort(resolved: ResolvedOptions, port: number): Promise<void> {
    const { attempt } = this.loop;
    // Fresh error files for the same attempt; the run folder (and its owner record) stays.
    await rm(path.join(resolved.runDir, `attempt_${attempt}`), { recursive: true, force: true });
    this.events.publish('restarting', {
      attempt,
      reason: `MASTER_PORT ${port} was taken before rank 0 could bind it; retrying with a fresh port`,
    });
  }

  /** A restart after `rootCause`: announced, from the last checkpoint when trainer mode has one. */
  private async restart(run: Running, rootCause: RootCause): Promise<void> {
    const { attempt } = this.loop;
    // Trainer mode: one decision per attempt, taken here; every rank of the attempt runs the same entry file.
    const resume = await run.trainer?.resumePoint(attempt);
    this.events.publish('restarting', {
      attempt,
      reason: `rank ${rootCause.rank} failed with ${rootCause.signal ?? `exit code ${rootCause.exitCode}`}`,
      ...(resume && { resumeFrom: resume.lastPt }),
      ...(resume?.epoch !== undefined && { epoch: resume.epoch }),
    });
  }

  private succeeded(ranks: LaunchResult['ranks']): LaunchResult {
    return { ...this.ended(ranks), exitCode: 0, signal: null, rootCause: undefined };
  }

  /** A failed launch: the root cause is kept in the result (the console shows it at `done`). */
  private failed(rootCause: RootCause, ranks: LaunchResult['ranks']): LaunchResult {
    return { ...this.ended(ranks), exitCode: exitCodeOfRootCause(rootCause), signal: null, rootCause };
  }

  private stopped(ranks: LaunchResult['ranks']): LaunchResult {
    const signal = this.loop.stopSignal as NodeJS.Signals;
    const preempted = this.loop.preemption;
    return {
      ...this.ended(ranks),
      exitCode: preempted ? EXIT_PREEMPTED : signalExitCode(signal),
      signal,
      ...(preempted && { preempted }),
      rootCause: undefined,
    };
  }

  /** What every result holds: the ranks, the attempts and port retries so far; the duration is set at the end. */
  private ended(ranks: LaunchResult['ranks']): Pick<LaunchResult, 'ranks' | 'attempts' | 'portRetries' | 'durationMs'> {
    return { ranks, attempts: this.loop.attempt + 1, portRetries: this.loop.portRetries, durationMs: 0 };
  }

  /** The console this launch writes to (its own lines, or a renderer's): watched for back-pressure and its reader. */
  private watchConsole(resolved: ResolvedOptions, disposers: (() => void)[]): ConsoleOutput | undefined {
    const streams = this.consoleStreams ?? (resolved.console ? process : undefined);
    if (!streams) return undefined;
    const output = new ConsoleOutput(streams, (_stream, as) => this.readerGone(as));
    disposers.push(() => output.dispose());
    return output;
  }
}

/** Whether this node's rank 0 (if it runs here) failed because MASTER_PORT `port` was taken: the port race. */
function rankZeroLostPort(
  plan: LaunchPlan,
  group: RankGroup,
  outcome: GroupOutcome,
  rootCause: RootCause,
  port: number,
): boolean {
  if (rootCause.rank === 0) return isMasterPortTaken(rootCause, port);
  const planned = plan.ranks.find((r) => r.rank === 0);
  const ran = outcome.ranks.find((r) => r.rank === 0);
  // Rank 0 must have failed on its own: a rank 0 we stopped did not lose the port.
  if (!planned || !ran || ran.exitCode === 0 || ran.signal !== null) return false;
  const rc = rootCauseOf({
    rank: 0,
    localRank: planned.localRank,
    pid: ran.pid,
    exitCode: ran.exitCode,
    signal: ran.signal,
    exitedAt: new Date(),
    errorFile: planned.errorFile,
    stderrTail: group.stderrTailOf(0),
  });
  return isMasterPortTaken(rc, port);
}

/**
 * Starts `nprocPerNode` ranks with torchrun's worker environment and supervises them: the first failure stops the
 * whole group (and restarts it while restarts remain), signals are forwarded, nothing outlives the launch.
 */
export function launch(options: LaunchOptions): LaunchHandle {
  return start(new Launch(options, false, undefined, undefined));
}

/** What a launch records besides its options: the command line, the run it resumes, the store it records into. */
export interface LaunchContext {
  argv?: readonly string[];
  resumedFrom?: ResumedFrom;
  stateDir?: string;
  /** Sinks of the launch's event stream besides the handle's (the CLI's renderer or `--json` writer). */
  sinks?: readonly EventSink[];
}

/**
 * `launch()` for options already checked by `resolveOptions` (the CLI resolves once, to print or to run). `console`:
 * the streams the caller renders the launch to (default: process.stdout/stderr when `resolved.console`); their
 * back-pressure pauses the ranks, and when their reader goes away the launch stops. `context`: the command line as
 * typed, the run this one resumes, and the store to record into, for the run's record.
 */
export function launchResolved(
  resolved: ResolvedOptions,
  console?: ConsoleStreams,
  context: LaunchContext = {},
): LaunchHandle {
  return start(new Launch(resolved, true, console, context.argv, context));
}

function start(run: Launch): LaunchHandle {
  // The record is complete (logs, events, outcome) before `result` settles.
  const result = run.run().then(
    async (r) => {
      run.events.publish('done', r);
      await run.recorder?.finish(r);
      return r;
    },
    async (error: unknown) => {
      await run.recorder?.finish(undefined, error);
      throw error;
    },
  );
  const handle: LaunchHandle = {
    get runId() {
      return run.runId;
    },
    result,
    on(event, listener) {
      run.handleSink.emitter.on(event, listener as never);
      return handle;
    },
    off(event, listener) {
      run.handleSink.emitter.off(event, listener as never);
      return handle;
    },
    stop(signal) {
      if (signal === undefined) run.stop('SIGTERM');
      else run.stop(validateSignal('signal', signal), signal);
    },
    dumpStacks() {
      return run.dumpStacks();
    },
  };
  return handle;
}
