import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { commitDiscovery } from '../../python/discovery-cache.js';
import { ddpCleanup, generateDdpFile } from '../../ultralytics/dist.js';
import { sweepStaleEntryFiles } from '../../ultralytics/entry-file.js';
import { formatRootCause, isMasterPortTaken, rootCauseOf } from './failure.js';
import { resolveOptions } from '../resolve/options.js';
import { Watchdog } from './pdeathsig.js';
import { createRunFolder } from './run-folder.js';
import { planAttempt } from '../plan/plan.js';
import { findFreeNetworkPort } from '../resolve/port.js';
import { waitForMaster } from './rendezvous.js';
import { RankGroup, type GroupOutcome } from './supervisor.js';
import { watchRank0 } from '../../progress/rank0.js';
import { TrainingTracker } from '../../progress/training.js';
import { parseTorchrunRootCause, planAgent, torchrunDemux } from '../torchrun/backend.js';
import type {
  LaunchEvents,
  LaunchHandle,
  LaunchOptions,
  LaunchPlan,
  LaunchResult,
  ResolvedOptions,
  RootCause,
} from '../types.js';
import { RunRecorder } from '../../store/recorder.js';
import { stateDir } from '../../store/paths.js';
import { newRunId } from '../../store/run-id.js';

/** Fresh ports tried when rank 0 finds MASTER_PORT taken (the port race); these do not count as restarts. */
export const MAX_PORT_RETRIES = 3;
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

type Emitter = EventEmitter<LaunchEvents>;

class Launch {
  readonly events: Emitter = new EventEmitter<LaunchEvents>();
  private group: RankGroup | undefined;
  private stopSignal: NodeJS.Signals | null = null;
  private stops = 0;
  /** Trainer mode: follows the Ultralytics run (run folder, results.csv) across attempts. */
  private tracker: TrainingTracker | undefined;
  /** The run store's record of this launch, once its options are resolved (unless `record: false`). */
  recorder: RunRecorder | undefined;
  /** The handle's `runId`: chosen now, final once the record exists; undefined when nothing is recorded. */
  runId: string | undefined;

  constructor(
    private readonly options: LaunchOptions | ResolvedOptions,
    private readonly isResolved: boolean,
    private readonly argv: readonly string[] | undefined,
  ) {
    this.runId = (options as { record?: unknown }).record === false ? undefined : newRunId();
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    // The first call signals every group (grace period, then SIGKILL); a second one (a second Ctrl-C) SIGKILLs at once.
    this.stopSignal ??= signal;
    this.events.emit('stopping', { signal, force: this.stops > 0 });
    if (++this.stops > 1) this.group?.kill();
    else this.group?.stop(signal);
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
      events: this.events,
      stateDir: stateDir(),
      warn: (message) => {
        if (resolved.console) process.stderr.write(`ddprun: warning: ${message}\n`);
        else process.emitWarning(message, { code: 'DDPRUN_RECORD' });
      },
    });
    this.runId = this.recorder?.id;
  }

  async run(): Promise<LaunchResult> {
    const startedAt = Date.now();
    const resolved = this.isResolved
      ? (this.options as ResolvedOptions)
      : await resolveOptions(this.options as LaunchOptions);
    for (const warning of resolved.warnings)
      if (resolved.console) process.stderr.write(`ddprun: warning: ${warning}\n`);
    commitDiscovery();
    this.openRecord(resolved);
    const disposers: (() => void)[] = [];
    let entryFile: string | undefined;
    createRunFolder(resolved.runDir);
    const watchdog = new Watchdog(resolved.runDir);
    try {
      if (resolved.handleSignals) disposers.push(this.forwardSignals());
      if (resolved.signal) disposers.push(this.onAbort(resolved.signal));
      if ('trainer' in resolved.entry) {
        const trainer = resolved.entry.trainer;
        // What a SIGKILLed launcher left behind is swept here; live launchers' files are kept.
        await sweepStaleEntryFiles(resolved.configDir && path.join(resolved.configDir, 'DDP')).catch(() => []);
        entryFile = await generateDdpFile(trainer, { configDir: resolved.configDir });
        const file = entryFile;
        // A fatal signal (SIGQUIT, SIGUSR2, SIGALRM…) runs no exit hook: the watchdog, which does run, removes it.
        watchdog.removeOnDeath(file);
        const onExit = () => rmSync(file, { force: true });
        process.on('exit', onExit);
        disposers.push(() => process.off('exit', onExit));
      }
      if ('trainer' in resolved.entry)
        this.tracker = new TrainingTracker(this.events, resolved.cwd, resolved.entry.trainer.args);
      try {
        const result = await this.attempts(resolved, entryFile, watchdog);
        result.durationMs = Date.now() - startedAt;
        const training = this.tracker?.finish();
        if (training) result.training = training;
        return result;
      } finally {
        this.tracker?.stop();
      }
    } finally {
      // Every group is empty by now: the watchdog goes first, whatever the clean-up below throws.
      watchdog.dispose();
      for (const dispose of disposers.reverse()) dispose();
      if (entryFile && 'trainer' in resolved.entry)
        await ddpCleanup(resolved.entry.trainer, entryFile).catch(() => rmSync(entryFile as string, { force: true }));
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
      if (resolved.maxNodes > 1 && resolved.nodeRank > 0)
        await waitForMaster(resolved.masterAddr, port, resolved.rdzvTimeoutMs, () => this.stopSignal !== null);
      if (this.stopSignal) return this.stopped(attempt, portRetries, []);
      const group = new RankGroup(resolved, plan, this.events, watchdog, undefined, () =>
        watchRank0(this.events, this.tracker),
      );
      this.group = group;
      const outcome = await group.run().finally(() => watchdog.forget());
      this.group = undefined;
      // A stop that came after a failure keeps the failure's root cause (and ends the restarts).
      if (this.stopSignal && !outcome.failed) return this.stopped(attempt, portRetries, outcome.ranks);
      if (!outcome.failed) {
        return {
          exitCode: 0,
          signal: null,
          ranks: outcome.ranks,
          attempts: attempt + 1,
          portRetries,
          rootCause: undefined,
          durationMs: 0,
        };
      }
      outcome.failed.stderrTail = group.stderrTailOf(outcome.failed.rank);
      const rootCause = rootCauseOf(outcome.failed);
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
        // Fresh error files for the same attempt; the run folder (and its owner record) stays.
        await rm(path.join(resolved.runDir, `attempt_${attempt}`), { recursive: true, force: true });
        this.events.emit('restarting', {
          attempt,
          reason: `MASTER_PORT ${port} was taken before rank 0 could bind it; retrying with a fresh port`,
        });
        continue;
      }
      if (!stopped && attempt < resolved.maxRestarts) {
        attempt++;
        this.events.emit('restarting', {
          attempt,
          reason: `rank ${rootCause.rank} failed with ${rootCause.signal ?? `exit code ${rootCause.exitCode}`}`,
        });
        continue;
      }
      return this.failed(resolved, rootCause, outcome.ranks, attempt, portRetries);
    }
  }

  /** Whether this node's rank 0 (if it runs here) failed because MASTER_PORT `port` was taken: the port race. */
  private rankZeroLostPort(
    plan: LaunchPlan,
    group: RankGroup,
    outcome: GroupOutcome,
    rootCause: RootCause,
    port: number,
  ): boolean {
    if (outcome.failed?.rank === 0) return isMasterPortTaken(rootCause, port);
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
    const group = new RankGroup(resolved, plan, this.events, watchdog, torchrunDemux(resolved));
    this.group = group;
    const outcome = await group.run().finally(() => watchdog.forget());
    this.group = undefined;
    if (this.stopSignal && !outcome.failed) return this.stopped(0, 0, outcome.ranks);
    if (!outcome.failed)
      return {
        exitCode: 0,
        signal: null,
        ranks: outcome.ranks,
        attempts: 1,
        portRetries: 0,
        rootCause: undefined,
        durationMs: 0,
      };
    const agentTail = group.agentStderr();
    const rootCause =
      parseTorchrunRootCause(agentTail, plan.ranks[0]!.errorFile, (rank, localRank) =>
        group.stderrTailOf(rank, localRank),
      ) ?? rootCauseOf({ ...outcome.failed, stderrTail: agentTail });
    return this.failed(resolved, rootCause, outcome.ranks, 0, 0);
  }

  /** A failed launch: the root cause printed once (console mode) and kept in the result. */
  private failed(
    resolved: ResolvedOptions,
    rootCause: RootCause,
    ranks: LaunchResult['ranks'],
    attempt: number,
    portRetries: number,
  ): LaunchResult {
    if (resolved.console) process.stderr.write(`${formatRootCause(rootCause)}\n`);
    return {
      exitCode: exitCodeOf(rootCause),
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
      exitCode: 128 + (constants.signals[signal] ?? 15),
      signal,
      ranks,
      attempts: attempt + 1,
      portRetries,
      rootCause: undefined,
      durationMs: 0,
    };
  }

  private forwardSignals(): () => void {
    const handlers = FORWARDED.map((signal) => {
      const handler = () => this.stop(signal);
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

/** The launch's exit code for a failed rank: its exit code, or 128+N when signal N killed it (a shell's convention). */
export function exitCodeOf(rc: RootCause): number {
  if (rc.signal) return 128 + (constants.signals[rc.signal] ?? 0);
  return rc.exitCode && rc.exitCode > 0 && rc.exitCode < 256 ? rc.exitCode : 1;
}

/**
 * Starts `nprocPerNode` ranks with torchrun's worker environment and supervises them: the first failure stops the
 * whole group (and restarts it while restarts remain), signals are forwarded, nothing outlives the launch.
 */
export function launch(options: LaunchOptions): LaunchHandle {
  return start(new Launch(options, false, undefined));
}

/** `launch()` for options already checked by `resolveOptions` (the CLI resolves once, to print or to run). */
export function launchResolved(resolved: ResolvedOptions, context: { argv?: readonly string[] } = {}): LaunchHandle {
  return start(new Launch(resolved, true, context.argv));
}

function start(run: Launch): LaunchHandle {
  // The record is complete (logs, events, outcome) before `result` settles.
  const result = run.run().then(
    async (r) => {
      run.events.emit('done', r);
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
      run.events.on(event, listener as never);
      return handle;
    },
    off(event, listener) {
      run.events.off(event, listener as never);
      return handle;
    },
    stop(signal) {
      run.stop(signal);
    },
  };
  return handle;
}
