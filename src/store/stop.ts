import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DdprunError, UsageError } from '../errors.js';
import { FILE_MODE, STOP_REQUEST_FILE, stateDir } from './paths.js';
import { getRun, launcherState, runEventsEnd, scanRunEvents } from './read.js';
import { assertTrustedRun, launcherProblem } from './trust.js';
import type { RunInfo, StoreOptions } from './types.js';

/** `stop` of a run that is not running (finished, lost, or on another host): nothing was signalled. */
export class RunNotRunningError extends UsageError {
  readonly runId: string;
  readonly status: RunInfo['status'];
  constructor(message: string, run: RunInfo) {
    super(message, 'id');
    this.name = 'RunNotRunningError';
    this.runId = run.id;
    this.status = run.status;
  }
}

/** The run was signalled but had not ended when the wait ran out. */
export class StopTimeoutError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_STOP_TIMEOUT';
  readonly runId: string;
  constructor(message: string, runId: string) {
    super(message);
    this.name = 'StopTimeoutError';
    this.runId = runId;
  }
}

export interface StopRunOptions extends StoreOptions {
  /**
   * Send a second stop at once: the launcher SIGKILLs every rank instead of waiting out the grace period.
   * @default false
   */
  kill?: boolean;
  /** How long to wait for the run to end. @default the run's grace period + 30 s */
  timeoutMs?: number;
  /** How often the record is read while waiting. @default 100 */
  pollMs?: number;
}

const storeOf = (options: StoreOptions) => options.stateDir ?? stateDir();
/** More than the launcher's window for one signal relayed twice (launch/run/keypress.ts, 100 ms). */
const SAME_SIGNAL_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gracePeriodOf(run: RunInfo): number {
  const grace = run.options.gracePeriodMs;
  return typeof grace === 'number' ? grace : 30_000;
}

/**
 * Signals the run's launcher, after checking (again, right before) that the pid is still that launcher: same boot,
 * recorded start time, this user's process. A record that cannot prove it (no start time) is never signalled.
 */
function signalLauncher(run: RunInfo): void {
  const problem = launcherProblem(run.launcher, run.host);
  if (problem)
    throw new RunNotRunningError(`The run ${run.id} cannot be stopped from here: ${problem}. Nothing was signalled.`, {
      ...run,
      status: launcherState(run) === 'dead' ? 'lost' : run.status,
    });
  process.kill(run.launcher.pid, 'SIGTERM');
}

/**
 * Tells the launcher that the SIGTERM it is about to get is a person's stop, not a preemption (a signal carries no
 * sender). Created exclusively, never through a link; one already there (a first `stop`) is fine.
 */
function requestStop(run: RunInfo): void {
  try {
    writeFileSync(path.join(run.dir, STOP_REQUEST_FILE), `${process.pid}\n`, { flag: 'wx', mode: FILE_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Stops a running run the way Ctrl-C would: SIGTERM to its launcher (which tears the ranks down), then waits until
 * the run has ended and returns its final state. `kill` sends a second stop, which SIGKILLs the ranks at once.
 * Only the run's own launcher is ever signalled: its pid must still carry the recorded start time.
 */
export async function stopRun(id: string, options: StopRunOptions = {}): Promise<RunInfo> {
  const run = getRun(id, options);
  assertTrustedRun(run, storeOf(options), 'stop');
  if (run.status !== 'running') {
    const why =
      run.status === 'lost'
        ? `its launcher (pid ${run.launcher.pid}) is gone (status lost)`
        : `it has ended (status ${run.status}${run.exitCode === undefined ? '' : `, exit code ${run.exitCode}`})`;
    throw new RunNotRunningError(`The run ${run.id} is not running: ${why}. Nothing was signalled.`, run);
  }
  if (run.host !== os.hostname())
    throw new RunNotRunningError(
      `The run ${run.id} runs on ${run.host}, not on this host (${os.hostname()}): stop it there.`,
      run,
    );
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + (options.timeoutMs ?? gracePeriodOf(run) + 30_000);
  // Only what the launcher writes after the signal is ever read: a stop never depends on the events' size.
  let eventsAt = options.kill ? runEventsEnd(run.id, options) : 0;
  requestStop(run);
  signalLauncher(run);
  if (options.kill) {
    // Two signals sent back to back can merge into one: the second goes once the launcher has heard the first, and
    // not within SAME_SIGNAL_MS of it (the launcher takes a repeat that close for the first one relayed).
    const earliest = Date.now() + SAME_SIGNAL_MS;
    const heardBy = Date.now() + 2000;
    let heard = false;
    while (Date.now() < heardBy && !heard) {
      eventsAt = scanRunEvents(run.id, () => (heard = true), { ...options, from: eventsAt, only: ['stopping'] });
      if (heard || launcherState(run) !== 'alive') break;
      await sleep(20);
    }
    await sleep(Math.max(0, earliest - Date.now()));
    if (launcherState(run) === 'alive') signalLauncher(run);
  }
  for (;;) {
    const now = getRun(run.id, options);
    if (now.status !== 'running') return now;
    if (Date.now() > deadline)
      throw new StopTimeoutError(
        `The run ${run.id} was sent SIGTERM but is still running after ${Math.round((options.timeoutMs ?? gracePeriodOf(run) + 30_000) / 1000)} s. Run \`ddprun stop --kill ${run.id}\` to SIGKILL its ranks.`,
        run.id,
      );
    await sleep(pollMs);
  }
}
