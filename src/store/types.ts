import type { LaunchResult, RootCause } from '../model/types.js';
import { EVENT_SCHEMA } from '../model/event-json.js';

// The run store's on-disk schema (see README "Runs"): `<state>/runs/<id>/run.json`, `events.jsonl` and
// `logs/attempt_<k>/<rank>/stdout.log|stderr.log`. Readers of other processes (ps, logs, show, stop, the dashboard)
// depend on it: add fields, never rename or remove one without bumping `schema`.

export const RUN_SCHEMA = 1;
export { EVENT_SCHEMA };

/** What run.json says; `lost` is never written, it is what a reader concludes from a dead launcher. */
export type RecordedStatus = 'running' | 'succeeded' | 'failed' | 'stopped' | 'preempted';
export type RunStatus = RecordedStatus | 'lost';

/** The launcher process, named by pid and start time (a pid alone can be reused). */
export interface LauncherIdentity {
  pid: number;
  /** `/proc/<pid>/stat` field 22: clock ticks since boot; null where there is no /proc. */
  startTime: number | null;
  /** `/proc/sys/kernel/random/boot_id` when recorded. */
  bootId: string | null;
}

/** `<id>/run.json`, rewritten atomically (temp file + rename) at the start, at each restart and at the end. */
export interface RunRecord {
  schema: typeof RUN_SCHEMA;
  id: string;
  /** The command line as typed after `ddprun` (CLI), or the rank command a library launch runs. */
  argv: string[];
  /** Who launched: the `ddprun` command line, or `launch()` from a program. */
  source: 'cli' | 'library';
  /** The resolved options, as JSON (the AbortSignal left out, sets as arrays). */
  options: Record<string, unknown>;
  cwd: string;
  host: string;
  user: string;
  /** ddprun's version. */
  version: string;
  launcher: LauncherIdentity;
  /** Local ranks on this node, and the world size. */
  nprocPerNode: number;
  worldSize: number;
  maxRestarts: number;
  /** The attempt running now (0-based); the last one once finished. */
  attempt: number;
  /** The user's `--log-dir`, where the uncapped copy of the logs is (the store keeps its own, capped copy). */
  logDir: string | null;
  /** The store's cap per rank, stream and attempt. */
  maxLogBytes: number;
  /** ISO 8601 with ms. */
  startedAt: string;
  endedAt?: string;
  status: RecordedStatus;
  exitCode?: number;
  signal?: NodeJS.Signals | null;
  rootCause?: RootCause;
  /** The launch's result (per-rank exits, attempts, durations), once finished. */
  result?: LaunchResult;
  /** `ddprun resume` / `resumeRun()`: the run this one continues, from which checkpoint. */
  resumedFrom?: ResumedFrom;
  /** `--name` / `launch({ name })`: what `ddprun logs <name>` and the others find this run by. */
  name?: string;
  /**
   * The ranks' environment, of the variables that decide what they import and run (`RANK_ENV_NAMES`: the launch's
   * explicit `env` over the launcher's own): what `ddprun resume` launches with again. Other variables (tokens,
   * credentials) are never recorded.
   */
  rankEnv?: Record<string, string>;
  /** Launched inside a Slurm job: its id, how often Slurm requeued it (`SLURM_RESTART_COUNT`), this node's index. */
  slurm?: SlurmJobOfRun;
  /** Launched in a pod of a job `ddprun k8s` wrote: the job, JobSet's restart attempt, the pod's index. */
  kubernetes?: K8sJobOfRun;
  /** Set when the launch itself failed (could not reach the master, a log file could not be opened…). */
  error?: { name: string; message: string };
}

/** The Kubernetes job a run ran in (`kubernetes` in run.json): a JobSet's recreated pods find the run they continue. */
export interface K8sJobOfRun {
  job: string;
  /** JobSet's `jobset.sigs.k8s.io/restart-attempt` (0: the first start). */
  restartAttempt: number;
  /** JOB_COMPLETION_INDEX: the pod's index, its node rank. */
  index: number | null;
}

/** The Slurm job a run ran in (`slurm` in run.json): a requeued job finds the run it continues by it. */
export interface SlurmJobOfRun {
  jobId: string;
  restartCount: number;
  nodeId: number | null;
}

/** The run a resumed run continues (`resumedFrom` in the new run's run.json). */
export interface ResumedFrom {
  /** The earlier run's id in the run store. */
  id: string;
  /** The checkpoint the new run starts from (`<run folder>/weights/last.pt`). */
  checkpoint: string;
  /** The last epoch the earlier run's results.csv recorded, when it recorded one. */
  epoch?: number;
}

/** One line of `<id>/events.jsonl`: `{ v, t, event, …payload }`, for every event but `line`. */
export interface StoredEvent {
  v: typeof EVENT_SCHEMA;
  /** ISO 8601 with ms. */
  t: string;
  event: string;
  [key: string]: unknown;
}

/** A run as readers see it: its record, with `status` `lost` when the record says running but its launcher is gone. */
export interface RunInfo extends Omit<RunRecord, 'status'> {
  status: RunStatus;
  /** The run's folder. */
  dir: string;
  /** Milliseconds from start to end (or to now, while running). */
  elapsedMs: number;
}

/** Where the store lives; every reader and writer takes it (default: `stateDir()`). */
export interface StoreOptions {
  stateDir?: string;
}
