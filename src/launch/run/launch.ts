import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { EXIT_PREEMPTED, exitCodeOfRootCause, signalExitCode } from '../../exit-codes.js';
import { commitDiscovery } from '../../python/discovery-cache.js';
import { ddpCleanup, generateDdpFile, generateDdpFileFor } from '../../ultralytics/dist.js';
import { ownCheckpoint, resumingTrainer } from '../../ultralytics/resume.js';
import { sweepStaleEntryFiles } from '../../ultralytics/entry-file.js';
import { isMasterPortTaken, rootCauseOf } from '../../insight/failure.js';
import { resolveOptions } from '../resolve/options.js';
import { validateSignal } from '../resolve/validators.js';
import { Watchdog } from './pdeathsig.js';
import { createRunFolder } from './run-folder.js';
import { planAttempt } from '../plan/plan.js';
import { findFreeNetworkPort } from '../../net/port.js';
import { hostBarrier, joinBarrier, waitForMaster } from './rendezvous.js';
import { ConsoleOutput, type ConsoleStreams } from './console-output.js';
import { ConsoleSink } from './console-sink.js';
import { EmitterSink, EventStream } from './event-stream.js';
import type { EventSink } from '../../model/event-stream.js';
import { forwardJobControl } from './job-control.js';
import { KeypressFilter } from './keypress.js';
import { preemptionOf, warningSignal } from './preemption.js';
import { LogFiles } from './log-files.js';
import { RankGroup, type GroupIo, type GroupOutcome } from './supervisor.js';
import { explainRootCause, explainedRootCause } from '../../insight/root-cause.js';
import { AttemptMonitor } from '../../insight/monitor.js';
import { watchRank0 } from '../../progress/rank0.js';
import { TrainingTracker } from '../../progress/training.js';
import { RunMetrics } from '../../progress/metrics/run-metrics.js';
import { parseTorchrunRootCause, planAgent, torchrunDemux } from '../torchrun/backend.js';
import type {
  LaunchHandle,
  LaunchOptions,
  LaunchPlan,
  LaunchResult,
  Preemption,
  RankStacks,
  ResolvedOptions,
  ResumeRecord,
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
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** What `ddprun stacks` sends a launcher (Node leaves SIGUSR2 free; SIGUSR1 starts its inspector). */
export const STACKS_SIGNAL = 'SIGUSR2';
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

function succeeded(ranks: LaunchResult['ranks'], attempt: number, portRetries: number): LaunchResult {
  return { exitCode: 0, signal: null, ranks, attempts: attempt + 1, portRetries, rootCause: undefined, durationMs: 0 };
}

class Launch {
  /** The handle's `.on()` listeners: one sink of the stream. */
  readonly handleSink = new EmitterSink();
  /** The launch's one event stream: the caller's sinks, the handle's; the console's and the record's once resolved. */
  readonly events: EventStream;
  private group: RankGroup | undefined;
  private monitor: AttemptMonitor | undefined;
  private resolved: ResolvedOptions | undefined;
  private stopSignal: NodeJS.Signals | null = null;
  /** What the ranks' main processes get when the launch stops (a group started during the stop gets it too). */
  private rankSignal: NodeJS.Signals | undefined;
  private stops = 0;
  /** Set when the first stop came from outside (a SIGTERM no `ddprun stop` asked for, the scheduler's warning). */
  private preemption: Preemption | undefined;
  /** Trainer mode: follows the Ultralytics run (run folder, results.csv) across attempts. */
  private tracker: TrainingTracker | undefined;
  /** The training metrics rank 0 prints or writes (docs/metrics.md), across attempts. */
  private metrics: RunMetrics | undefined;
  /**
   * Trainer mode: every entry file this launch wrote (the first, then one per resumed attempt); all removed at the end.
   */
  private readonly entryFiles: string[] = [];
  /** Trainer mode: the attempts that resumed from this run's last.pt. */
  private readonly resumes: ResumeRecord[] = [];
  private startedAt = Date.now();
  private groupIo: GroupIo = {};
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
    this.stopSignal ??= signal;
    this.rankSignal ??= rankSignal ?? this.resolved?.stopSignal ?? 'SIGTERM';
    // The console (if any) shows the stop notice.
    this.events.publish('stopping', {
      signal,
      force: this.stops > 0,
      rankSignal: this.rankSignal,
      preempted: this.preemption,
    });
    if (++this.stops > 1) this.group?.kill();
    else this.group?.stop(this.rankSignal);
  }

  /**
   * The console's reader went away (`ddprun … | head -1`, a closed terminal): the run stops as that signal would
   * stop it (exit 141 or 129; the ranks get SIGTERM and the grace period), nothing more is written there, and the
   * log files keep everything. A later real signal or stop() counts as the first.
   */
  private readerGone(as: 'SIGPIPE' | 'SIGHUP'): void {
    if (this.stopSignal) return;
    this.stopSignal = as;
    this.rankSignal = this.resolved?.stopSignal ?? 'SIGTERM';
    this.group?.stop(this.rankSignal);
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

  async run(): Promise<LaunchResult> {
    const startedAt = Date.now();
    this.startedAt = startedAt;
    const resolved = this.isResolved
      ? (this.options as ResolvedOptions)
      : await resolveOptions(this.options as LaunchOptions);
    this.resolved = resolved;
    const consoleStreams = this.consoleStreams ?? (resolved.console ? process : undefined);
    if (resolved.console && consoleStreams)
      this.events.add(new ConsoleSink(consoleStreams.stderr, resolved.gracePeriodMs));
    commitDiscovery();
    this.openRecord(resolved);
    for (const message of resolved.warnings) this.warn(message);
    const disposers: (() => void)[] = [];
    let entryFile: string | undefined;
    createRunFolder(resolved.runDir);
    const watchdog = new Watchdog(resolved.runDir);
    try {
      const logFiles = new LogFiles(resolved.logDir, (message) => this.warn(message));
      this.groupIo = { logFiles, console: this.watchConsole(resolved, disposers) };
      if (resolved.handleSignals) disposers.push(this.forwardSignals());
      if (resolved.handleSignals) disposers.push(forwardJobControl(() => this.group?.groups() ?? []));
      if (resolved.handleSignals && resolved.insight.stackDumps) disposers.push(this.stacksOnSignal());
      if (resolved.signal) disposers.push(this.onAbort(resolved.signal));
      if ('trainer' in resolved.entry) {
        const trainer = resolved.entry.trainer;
        // What a SIGKILLed launcher left behind is swept here; live launchers' files are kept.
        await sweepStaleEntryFiles(resolved.configDir && path.join(resolved.configDir, 'DDP')).catch(() => []);
        entryFile = await generateDdpFile(trainer, { configDir: resolved.configDir });
        this.entryFiles.push(entryFile);
        // A fatal signal (SIGQUIT, SIGUSR2, SIGALRM…) runs no exit hook: the watchdog, which does run, removes it.
        watchdog.removeOnDeath(entryFile);
        const onExit = () => {
          for (const file of this.entryFiles) rmSync(file, { force: true });
        };
        process.on('exit', onExit);
        disposers.push(() => process.off('exit', onExit));
      }
      if ('trainer' in resolved.entry)
        this.tracker = new TrainingTracker(this.events, resolved.cwd, resolved.entry.trainer.args);
      this.metrics = new RunMetrics(this.events, resolved.cwd, startedAt);
      this.metrics.start();
      try {
        const result = await this.attempts(resolved, entryFile, watchdog);
        result.durationMs = Date.now() - startedAt;
        const training = this.tracker?.finish();
        if (training) result.training = training;
        if (this.resumes.length > 0) result.resumes = [...this.resumes];
        return result;
      } finally {
        this.tracker?.stop();
        this.metrics.finish();
      }
    } finally {
      // Every group is empty by now: the watchdog goes first, whatever the clean-up below throws.
      watchdog.dispose();
      for (const dispose of disposers.reverse()) dispose();
      if ('trainer' in resolved.entry)
        for (const file of this.entryFiles)
          await ddpCleanup(resolved.entry.trainer, file).catch(() => rmSync(file, { force: true }));
      await rm(resolved.runDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private async attempts(
    resolved: ResolvedOptions,
    entryFile: string | undefined,
    watchdog: Watchdog,
  ): Promise<LaunchResult> {
    if (resolved.backend === 'torchrun') return this.agent(resolved, entryFile, watchdog);
    let attempt = 0;
    let portRetries = 0;
    for (;;) {
      const port = resolved.masterPort ?? (await findFreeNetworkPort());
      const plan = planAttempt(resolved, attempt, port, entryFile);
      if (resolved.insight.stackDumps) writeBootstrap(resolved.runDir);
      await this.meetNodes(resolved, port, attempt === 0 && portRetries === 0);
      if (this.stopSignal) return this.stopped(attempt, portRetries, []);
      const group = new RankGroup(resolved, plan, this.events, watchdog, undefined, {
        ...this.groupIo,
        watchRank0: () => watchRank0(this.events, this.tracker, this.metrics),
      });
      this.group = group;
      const monitor = new AttemptMonitor(resolved, this.events, attempt, group);
      this.monitor = monitor;
      const outcome = await runMonitored(group, monitor, watchdog, this.events.add(monitor));
      this.group = undefined;
      this.monitor = undefined;
      // --on-hang stop: the hang is the root cause (whatever the stopped ranks' exits say).
      if (monitor.hang) return this.failed(resolved, monitor.hang, outcome.ranks, attempt, portRetries);
      // A stop that came after a failure keeps the failure's root cause (and ends the restarts).
      if (this.stopSignal && !outcome.failed) return this.stopped(attempt, portRetries, outcome.ranks);
      if (!outcome.failed) return succeeded(outcome.ranks, attempt, portRetries);
      outcome.failed.stderrTail = group.stderrTailOf(outcome.failed.rank);
      keepErrorFile(resolved, attempt, outcome.failed.localRank, outcome.failed.errorFile, (m) => this.warn(m));
      const rootCause = await explainedRootCause(resolved, group, outcome.failed, outcome, port, monitor.sampler);
      // The port race: rank 0 could not bind the port we chose while creating the process group (whichever rank
      // failed first). Nothing else is: a rank that failed for its own reasons is the user's failure.
      const stopped = this.stopSignal !== null;
      if (
        !stopped &&
        !resolved.masterPortFixed &&
        portRetries < MAX_PORT_RETRIES &&
        this.rankZeroLostPort(plan, group, outcome, rootCause, port)
      ) {
        portRetries++;
        await this.retryPort(resolved, attempt, port);
        continue;
      }
      if (!stopped && attempt < resolved.maxRestarts) {
        attempt++;
        entryFile = await this.restart(resolved, watchdog, attempt, rootCause, entryFile);
        continue;
      }
      return this.failed(resolved, rootCause, outcome.ranks, attempt, portRetries);
    }
  }

  /**
   * Static rendezvous: on the first try of the first attempt no node starts a rank until every node joined (node 0
   * counts them); later, the other nodes wait for node 0's master port.
   */
  private async meetNodes(resolved: ResolvedOptions, port: number, first: boolean): Promise<void> {
    const isStopping = () => this.stopSignal !== null;
    if (resolved.maxNodes > 1 && first) {
      if (resolved.nodeRank === 0)
        await hostBarrier(resolved.masterAddr, port, resolved.maxNodes, resolved.rdzvTimeoutMs, isStopping);
      else await joinBarrier(resolved.masterAddr, port, resolved.nodeRank, resolved.rdzvTimeoutMs, isStopping);
    } else if (resolved.maxNodes > 1 && resolved.nodeRank > 0)
      await waitForMaster(resolved.masterAddr, port, resolved.rdzvTimeoutMs, isStopping);
  }

  /** The port race lost: the same attempt again on a fresh port (not a restart). */
  private async retryPort(resolved: ResolvedOptions, attempt: number, port: number): Promise<void> {
    // Fresh error files for the same attempt; the run folder (and its owner record) stays.
    await rm(path.join(resolved.runDir, `attempt_${attempt}`), { recursive: true, force: true });
    this.events.publish('restarting', {
      attempt,
      reason: `MASTER_PORT ${port} was taken before rank 0 could bind it; retrying with a fresh port`,
    });
  }

  /** A restart after `rootCause`: announced, from the last checkpoint when there is one; returns the entry file. */
  private async restart(
    resolved: ResolvedOptions,
    watchdog: Watchdog,
    attempt: number,
    rootCause: RootCause,
    entryFile: string | undefined,
  ): Promise<string | undefined> {
    // Trainer mode: one decision per attempt, taken here; every rank of the attempt runs the same entry file.
    const resume = await this.resumePoint(resolved, watchdog);
    if (resume) this.resumes.push({ attempt, resumeFrom: resume.lastPt, epoch: resume.epoch });
    this.events.publish('restarting', {
      attempt,
      reason: `rank ${rootCause.rank} failed with ${rootCause.signal ?? `exit code ${rootCause.exitCode}`}`,
      ...(resume && { resumeFrom: resume.lastPt }),
      ...(resume?.epoch !== undefined && { epoch: resume.epoch }),
    });
    return resume ? resume.entryFile : entryFile;
  }

  /**
   * Trainer mode (native backend, one node, `resume` on): when the run folder rank 0 announced holds a
   * `weights/last.pt` this launch wrote, writes the next attempt's entry file with `resume='<that path>'` and removes
   * the previous one. Undefined: the restart starts as the first attempt did (no folder yet, no checkpoint of ours, or
   * resume is off).
   */
  private async resumePoint(
    resolved: ResolvedOptions,
    watchdog: Watchdog,
  ): Promise<{ entryFile: string; lastPt: string; epoch: number | undefined } | undefined> {
    // Several nodes would each decide on their own, and disagree: only a single node resumes.
    if (!('trainer' in resolved.entry) || !resolved.resume || resolved.maxNodes > 1) return undefined;
    const point = this.tracker?.checkpoint();
    const lastPt = point && ownCheckpoint(point.saveDir, this.startedAt);
    if (!point || !lastPt) return undefined;
    const trainer = resolved.entry.trainer;
    const file = await generateDdpFileFor(trainer, resumingTrainer(trainer, lastPt), { configDir: resolved.configDir });
    watchdog.removeOnDeath(file);
    const previous = this.entryFiles.length > 1 ? this.entryFiles.pop() : undefined;
    this.entryFiles.push(file);
    // The previous attempt's ranks are gone: its resume file goes (the first file stays until the end, as before).
    if (previous) await rm(previous, { force: true });
    return { entryFile: file, lastPt, epoch: point.epoch };
  }

  /** Whether this node's rank 0 (if it runs here) failed because MASTER_PORT `port` was taken: the port race. */
  private rankZeroLostPort(
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

  /** The torchrun backend: one agent process runs (and restarts) the ranks; ddprun demuxes, explains and guards. */
  private async agent(
    resolved: ResolvedOptions,
    entryFile: string | undefined,
    watchdog: Watchdog,
  ): Promise<LaunchResult> {
    const port = resolved.masterPort ?? (await findFreeNetworkPort());
    const plan = planAgent(resolved, port, entryFile);
    if (this.stopSignal) return this.stopped(0, 0, []);
    const group = new RankGroup(resolved, plan, this.events, watchdog, torchrunDemux(resolved), this.groupIo);
    this.group = group;
    const monitor = new AttemptMonitor(resolved, this.events, 0, group);
    const outcome = await runMonitored(group, monitor, watchdog, this.events.add(monitor));
    this.group = undefined;
    if (this.stopSignal && !outcome.failed) return this.stopped(0, 0, outcome.ranks);
    if (!outcome.failed) return succeeded(outcome.ranks, 0, 0);
    const agentTail = group.agentStderr();
    const parsed =
      parseTorchrunRootCause(agentTail, plan.ranks[0]!.errorFile, (rank, localRank) =>
        group.stderrTailOf(rank, localRank),
      ) ?? rootCauseOf({ ...outcome.failed, stderrTail: agentTail });
    const rootCause = await explainRootCause(parsed, {
      python: resolved.python,
      masterPort: port,
      durationMs: outcome.ranks[0]?.durationMs ?? 0,
      peakRssBytes: undefined,
      cgroupDir: undefined,
    });
    return this.failed(resolved, rootCause, outcome.ranks, 0, 0);
  }

  /** A failed launch: the root cause is kept in the result (the console shows it at `done`). */
  private failed(
    _resolved: ResolvedOptions,
    rootCause: RootCause,
    ranks: LaunchResult['ranks'],
    attempt: number,
    portRetries: number,
  ): LaunchResult {
    return {
      exitCode: exitCodeOfRootCause(rootCause),
      signal: null,
      ranks,
      attempts: attempt + 1,
      portRetries,
      rootCause,
      durationMs: 0,
    };
  }

  private stopped(attempt: number, portRetries: number, ranks: LaunchResult['ranks']): LaunchResult {
    const signal = this.stopSignal as NodeJS.Signals;
    return {
      exitCode: this.preemption ? EXIT_PREEMPTED : signalExitCode(signal),
      signal,
      ...(this.preemption && { preempted: this.preemption }),
      ranks,
      attempts: attempt + 1,
      portRetries,
      rootCause: undefined,
      durationMs: 0,
    };
  }

  /**
   * `ddprun stacks <id>` asks a running launcher for its ranks' stacks with SIGUSR2; they land in the store as a
   * `stacks` event.
   */
  private stacksOnSignal(): () => void {
    const handler = () => void this.monitor?.requestStacks().catch(() => undefined);
    process.on(STACKS_SIGNAL, handler);
    return () => process.off(STACKS_SIGNAL, handler);
  }

  /** The console this launch writes to (its own lines, or a renderer's): watched for back-pressure and its reader. */
  private watchConsole(resolved: ResolvedOptions, disposers: (() => void)[]): ConsoleOutput | undefined {
    const streams = this.consoleStreams ?? (resolved.console ? process : undefined);
    if (!streams) return undefined;
    const output = new ConsoleOutput(streams, (_stream, as) => this.readerGone(as));
    disposers.push(() => output.dispose());
    return output;
  }

  private forwardSignals(): () => void {
    const warning = warningSignal();
    const handlers = [...FORWARDED, ...(warning ? [warning] : [])].map((signal) => {
      // One Ctrl-C that reaches ddprun twice (relayed by `timeout`, say) is one stop, not a stop and a kill.
      const keypress = new KeypressFilter();
      const handler = () => {
        if (keypress.echo()) return;
        if (this.stops === 0) this.preemption ??= preemptionOf(signal, this.recorder?.stopRequested() ?? false);
        this.stop(signal);
      };
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    return () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
  }

  private onAbort(signal: AbortSignal): () => void {
    const handler = () => this.stop('SIGTERM');
    if (signal.aborted) handler();
    else signal.addEventListener('abort', handler, { once: true });
    return () => signal.removeEventListener('abort', handler);
  }
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

/** torchrun keeps a failing rank's error.json in its log folder: copied there from the run folder (removed after). */
function keepErrorFile(
  resolved: ResolvedOptions,
  attempt: number,
  localRank: number,
  errorFile: string,
  warn: (message: string) => void,
): void {
  if (!resolved.logDir || !existsSync(errorFile)) return;
  const dir = path.join(resolved.logDir, `attempt_${attempt}`, String(localRank));
  try {
    mkdirSync(dir, { recursive: true });
    copyFileSync(errorFile, path.join(dir, 'error.json'));
  } catch (error) {
    warn(`cannot keep ${errorFile} in ${dir}: ${(error as Error).message}`);
  }
}
