// The root entry: launching and supervising ranks. The Ultralytics port is `ddprun/ultralytics`, the Slurm
// helpers `ddprun/slurm`.
export {
  DdprunError,
  UsageError,
  PythonNotFoundError,
  UnsafePathError,
  RendezvousTimeoutError,
  TorchProbeError,
  NoFreePortError,
  FileSystemError,
} from './errors.js';
export { launch, launchResolved } from './launch/run/launch.js';
export { resolveOptions } from './launch/resolve/options.js';
export { planAttempt } from './launch/plan/plan.js';
export { formatRootCause } from './insight/failure.js';
export { findPython, probeTorch } from './python/find-python.js';
export type { PythonInfo, TorchInfo, FindPythonOptions } from './python/find-python.js';
export { startDashboard } from './ui/server.js';
export type { Dashboard, DashboardOptions } from './ui/server.js';
export { parseBar } from './progress/bar.js';
export type { BarUpdate } from './progress/bar.js';
export { ResultsCsvReader } from './progress/results-csv.js';
export type { ResultsRow } from './progress/results-csv.js';
export { fitnessOf, keyMetricOf, taskOf } from './progress/fitness.js';
export type { TrainingTask } from './progress/fitness.js';
export { listRuns, getRun, resolveRunId, readRunEvents, RunNotFoundError, BadRecordError } from './store/read.js';
export type { ListRunsOptions, SkippedRun } from './store/read.js';
export { stopRun, RunNotRunningError, StopTimeoutError } from './store/stop.js';
export type { StopRunOptions } from './store/stop.js';
export { pruneRuns } from './store/gc.js';
export { removeRuns, RunStillRunningError } from './store/remove.js';
export type { PruneRunsOptions, PrunedRun } from './store/gc.js';
export { listRankLogs, readRankLog } from './store/rank-logs.js';
export type { RankLogRef } from './store/rank-logs.js';
export { stateDir } from './store/paths.js';
export type {
  RunInfo,
  RunRecord,
  RunStatus,
  RecordedStatus,
  StoredEvent,
  StoreOptions,
  LauncherIdentity,
} from './store/types.js';
export type {
  Entry,
  LaunchOptions,
  LaunchHandle,
  LaunchPlan,
  RankPlan,
  LaunchResult,
  RankResult,
  RootCause,
  Explanation,
  ExplanationKind,
  RankResources,
  RankStacks,
  LaunchEvents,
  EpochEvent,
  MetricEvent,
  MetricSource,
  ProgressEvent,
  TrainingEvent,
  TrainingOutcome,
  ResolvedOptions,
  StdSelection,
  StdSpec,
  RestartingEvent,
  ResumeRecord,
} from './model/types.js';
export { resumeRun, planResume } from './launch/resume-run.js';
export type { ResumeRunOptions, ResumePlan, ResumedFrom } from './launch/resume-run.js';
export { RESUME_OVERRIDABLE } from './ultralytics/resume.js';
