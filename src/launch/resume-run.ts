import { statSync } from 'node:fs';
import path from 'node:path';
import { perRunLogDir } from './resolve/output.js';
import { UsageError, describeValue } from '../errors.js';
import { parseDevice } from '../devices.js';
import { PyFloat, pyFloat } from '../python/literal.js';
import { runDir, stateDir } from '../store/paths.js';
import { getRun, readRunEvents } from '../store/read.js';
import { assertNotContinued, lockForResume } from '../store/resume-lock.js';
import { assertTrustedRun } from '../store/trust.js';
import type { ResumedFrom, RunInfo, StoreOptions } from '../store/types.js';

export type { ResumedFrom } from '../store/types.js';
import { RESUME_OVERRIDABLE, lastPtOf, resumingTrainer } from '../ultralytics/resume.js';
import type { DdpTrainer } from '../model/trainer.js';
import { resolveOptions } from './resolve/options.js';
import { launchResolved } from './run/launch.js';
import type { LaunchHandle, LaunchOptions, StdSelection, StdSpec } from '../model/types.js';

export interface ResumeRunOptions extends StoreOptions {
  /** As `launch()`'s: write rank output and the root cause to the console. @default true */
  console?: boolean;
  /** As `launch()`'s: forward SIGINT/SIGTERM/SIGHUP to the ranks. @default true */
  handleSignals?: boolean;
}

/** What `resumeRun` launches: decided, and every refusal made, before anything is started or written. */
export interface ResumePlan {
  options: LaunchOptions;
  from: ResumedFrom;
  /** The earlier run's command line, when it came from the CLI (kept for the new record). */
  argv: string[] | undefined;
}

const refuse = (message: string, option?: string): never => {
  throw new UsageError(message, option);
};

/** A recorded `pyFloat` (`{ value: n }` in JSON) back as one, so `lr0=1.0` stays a float. */
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value instanceof PyFloat || typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'value' && typeof (value as { value: unknown }).value === 'number')
    return pyFloat((value as { value: number }).value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
}

/** A per-local-rank array as recorded, as a `StdSpec` again (one selection when every rank has the same). */
function stdSpecOf(value: unknown): StdSpec | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const sels = value as StdSelection[];
  return sels.every((s) => s === sels[0]) ? sels[0] : Object.fromEntries(sels.map((s, i) => [i, s]));
}

const RDZV_KEYS = ['rdzvBackend', 'rdzvId', 'rdzvEndpoint'] as const;

/**
 * A resumed run's log folder is a new one (the recorded one holds the old run's files, and rank logs go only into new
 * files): beside it when it is a CLI run's own `<dir>/<run id>_<random>`, else inside it.
 */
function resumedLogDir(logDir: unknown, run: RunInfo, runId: string): string | undefined {
  if (typeof logDir !== 'string') return undefined;
  const perRun = run.source === 'cli' && /_[0-9a-f]{8}$/.test(path.basename(logDir));
  return perRunLogDir(perRun ? path.dirname(logDir) : logDir, runId);
}

type Recorded = Record<string, unknown> & { entry?: { trainer?: DdpTrainer } };

/** Only what Ultralytics' `check_resume` takes on resume may be overridden. */
function checkOverrides(overrides: Record<string, unknown>): void {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))
    refuse(`Expected the overrides to be a plain object, got ${describeValue(overrides)}`, 'overrides');
  const allowed = RESUME_OVERRIDABLE as readonly string[];
  const bad = Object.keys(overrides).filter((k) => !allowed.includes(k));
  if (bad.length > 0)
    refuse(
      `A resumed run keeps its arguments (Ultralytics reads them from last.pt); only ${allowed.join(', ')} may change, got ${bad.join(', ')}.`,
      bad[0],
    );
}

/** The run's trainer, when it is a trainer run that did not complete and is not running. */
function resumableTrainer(run: RunInfo): DdpTrainer {
  const trainer = (run.options as Recorded).entry?.trainer;
  if (!trainer || typeof trainer !== 'object')
    refuse(`The run ${run.id} is not a trainer run (\`ddprun train\`): only a trainer run can be resumed.`);
  if (run.status === 'running')
    refuse(`The run ${run.id} is still running: stop it first (\`ddprun stop ${run.id}\`).`);
  if (run.status === 'succeeded') refuse(`The run ${run.id} completed (exit 0): there is nothing left to resume.`);
  return trainer as DdpTrainer;
}

/** From the run's events: its run folder and its last epoch, refusing a run that finished its epochs. */
function progressOf(run: RunInfo, options: StoreOptions): { saveDir: string; epoch: number | undefined } {
  const events = readRunEvents(run.id, { ...options, only: ['training', 'epoch'] });
  const training = events.filter((e) => e.event === 'training').at(-1) as { saveDir?: unknown } | undefined;
  const saveDir = typeof training?.saveDir === 'string' ? training.saveDir : run.result?.training?.saveDir;
  if (!saveDir) refuse(`The run ${run.id} never named its run folder, so it has no last.pt to resume from.`);
  const lastEpoch = events.filter((e) => e.event === 'epoch').at(-1) as
    { epoch?: unknown; epochs?: unknown } | undefined;
  const epoch = typeof lastEpoch?.epoch === 'number' ? lastEpoch.epoch : undefined;
  if (epoch !== undefined && typeof lastEpoch?.epochs === 'number' && epoch >= lastEpoch.epochs)
    refuse(`The run ${run.id} completed its ${lastEpoch.epochs} epochs: there is nothing left to resume.`);
  return { saveDir: saveDir as string, epoch };
}

/** The run folder's `weights/last.pt`, when it exists and was written by this run. */
function checkpointOf(run: RunInfo, saveDir: string): string {
  const checkpoint = lastPtOf(saveDir);
  let mtimeMs: number;
  try {
    const stats = statSync(checkpoint);
    if (!stats.isFile()) throw new Error('not a file');
    mtimeMs = stats.mtimeMs;
  } catch {
    return refuse(`The run ${run.id} has no checkpoint to resume from: ${checkpoint} is missing.`);
  }
  if (mtimeMs < Math.floor(Date.parse(run.startedAt) / 1000) * 1000)
    refuse(`${checkpoint} is older than the run ${run.id}: it was not written by that run.`);
  return checkpoint;
}

/** The recorded launch options again, around `entry`. */
function recordedLaunchOptions(run: RunInfo, entry: LaunchOptions['entry']): LaunchOptions {
  const recorded = run.options as Recorded;
  const maxNodes = Number(recorded.maxNodes);
  const minNodes = Number(recorded.minNodes);
  const launchOptions: LaunchOptions = {
    entry,
    backend: recorded.backend as LaunchOptions['backend'],
    nprocPerNode: Number(recorded.nprocPerNode),
    nnodes: minNodes === maxNodes ? maxNodes : `${minNodes}:${maxNodes}`,
    nodeRank: Number(recorded.nodeRank),
    masterAddr: recorded.masterAddr as string,
    maxRestarts: Number(recorded.maxRestarts),
    runId: recorded.runId as string,
    gracePeriodMs: Number(recorded.gracePeriodMs),
    cwd: run.cwd,
    // The ranks' recorded environment (PYTHONPATH, PATH, the venv…; #24 item 4), the explicit extras over it.
    env: { ...(run.rankEnv ?? {}), ...((recorded.env as Record<string, string> | undefined) ?? {}) },
    rdzvTimeoutMs: Number(recorded.rdzvTimeoutMs),
    recordMaxLogBytes: Number(recorded.recordMaxLogBytes),
    resume: recorded.resume !== false,
  };
  const copy = <K extends keyof LaunchOptions>(key: K, value: unknown) => {
    if (value !== undefined && value !== null) launchOptions[key] = value as LaunchOptions[K];
  };
  copy('python', recorded.python);
  copy('stopSignal', recorded.stopSignal);
  copy('logDir', resumedLogDir(recorded.logDir, run, launchOptions.runId!));
  copy('configDir', recorded.configDir);
  // The resumed run carries the name on: `ddprun logs <name>` then finds it, the newest of that name.
  copy('name', recorded.name);
  // The rendezvous options are the torchrun backend's (given to the native one, they only draw a warning).
  if (recorded.backend === 'torchrun') for (const key of RDZV_KEYS) copy(key, recorded[key]);
  if (recorded.masterPortFixed === true) copy('masterPort', recorded.masterPort);
  copy('redirects', stdSpecOf(recorded.redirects));
  copy('tee', stdSpecOf(recorded.tee));
  const filter = recorded.localRanksFilter;
  if (Array.isArray(filter) && filter.length !== launchOptions.nprocPerNode) copy('localRanksFilter', filter);
  return launchOptions;
}

/** A new device list: CUDA_VISIBLE_DEVICES and the world size follow it, as `ddprun train` sets them. */
function applyDevice(launchOptions: LaunchOptions, device: unknown): void {
  const env = launchOptions.env as Record<string, string>;
  const parsed = parseDevice(device instanceof PyFloat ? device.value : device);
  if (parsed.kind === 'cpu' || parsed.kind === 'mps') env.CUDA_VISIBLE_DEVICES = '-1';
  if (parsed.kind === 'cuda') {
    if (parsed.ids.some((d) => d === 'auto'))
      refuse('A resumed run needs its GPUs named (device=0,1), not picked (-1).', 'device');
    env.CUDA_VISIBLE_DEVICES = parsed.ids.join(',');
    delete launchOptions.nprocPerNode;
    delete launchOptions.localRanksFilter;
    delete launchOptions.redirects;
    delete launchOptions.tee;
  }
}

/**
 * Checks that run `id` of the run store can be resumed and plans the new launch: a trainer run that failed, was stopped
 * or was lost before its last epoch, whose run folder holds a `weights/last.pt` written by it. `overrides` may only
 * name what Ultralytics' `check_resume` takes on resume (`imgsz`, `batch`, `device`, `close_mosaic`). Throws a
 * UsageError for anything else; starts, writes and removes nothing.
 */
export function planResume(
  id: string,
  overrides: Record<string, unknown> = {},
  options: StoreOptions = {},
): ResumePlan {
  checkOverrides(overrides);
  const run: RunInfo = getRun(id, options);
  // The record names the python, trainer, env and cwd to run: only a record no other user could have written.
  assertTrustedRun(run, options.stateDir ?? stateDir(), 'resume');
  const t = resumableTrainer(run);
  assertNotContinued(run.id, options);
  const { saveDir, epoch } = progressOf(run, options);
  const checkpoint = checkpointOf(run, saveDir);
  const args = { ...(revive(t.args) as Record<string, unknown>), ...overrides };
  const resumed = resumingTrainer({ module: t.module, className: t.className, args }, checkpoint);
  const launchOptions = recordedLaunchOptions(run, { trainer: resumed });
  if ('device' in overrides) applyDevice(launchOptions, overrides.device);
  return {
    options: launchOptions,
    from: { id: run.id, checkpoint, ...(epoch !== undefined && { epoch }) },
    argv: run.source === 'cli' ? [...run.argv] : undefined,
  };
}

/**
 * Locks the resumed run's folder for this process (a second resume of the run is refused while it is held) and checks,
 * under the lock, that no other resume has continued the run meanwhile. Returns the release, for when the resumed
 * launch has ended; throws a UsageError, having started nothing, when the run is taken.
 */
export function claimResume(plan: ResumePlan, options: StoreOptions = {}): () => void {
  const release = lockForResume(runDir(options.stateDir ?? stateDir(), plan.from.id), plan.from.id);
  try {
    assertNotContinued(plan.from.id, options);
  } catch (error) {
    release();
    throw error;
  }
  return release;
}

/**
 * `ddprun resume <id>` as a library call: relaunches a failed, stopped or lost trainer run of the run store with the
 * same trainer, arguments and launch options, from its `weights/last.pt`, as a new run linked to the old one (its
 * run.json says `resumedFrom`). Rejects with a UsageError, having started nothing, for a run that cannot be resumed
 * (see `planResume`).
 */
export async function resumeRun(
  id: string,
  overrides: Record<string, unknown> = {},
  options: ResumeRunOptions = {},
): Promise<LaunchHandle> {
  const plan = planResume(id, overrides, options);
  const launchOptions: LaunchOptions = { ...plan.options };
  if (options.console !== undefined) launchOptions.console = options.console;
  if (options.handleSignals !== undefined) launchOptions.handleSignals = options.handleSignals;
  const release = claimResume(plan, options);
  try {
    const resolved = await resolveOptions(launchOptions);
    const handle = launchResolved(resolved, undefined, {
      argv: plan.argv,
      resumedFrom: plan.from,
      stateDir: options.stateDir,
    });
    void handle.result.then(release, release);
    return handle;
  } catch (error) {
    release();
    throw error;
  }
}
