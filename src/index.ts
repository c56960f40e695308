export { DdprunError, UsageError, PythonNotFoundError, UnsafePathError, RendezvousTimeoutError } from './errors.js';
export { findPython, probeTorch } from './python/find-python.js';
export type { PythonInfo, TorchInfo, FindPythonOptions } from './python/find-python.js';
export { toPythonLiteral, pyFloat, PyFloat, pyTuple, PyTuple, pyDict, PyDict } from './python/literal.js';
export type { ToPythonLiteralOptions } from './python/literal.js';
export { generateDdpFile, generateDdpCommand, ddpCleanup } from './ultralytics/dist.js';
export type { GenerateDdpFileOptions, GenerateDdpCommandOptions } from './ultralytics/dist.js';
export { trainerId } from './ultralytics/trainer.js';
export { getUserConfigDir } from './ultralytics/config-dir.js';
export { sweepStaleEntryFiles } from './ultralytics/entry-file.js';
export { removeSaveDir, checkSaveDir } from './ultralytics/save-dir.js';
export type { SaveDirOptions } from './ultralytics/save-dir.js';
export { parseDevice, ddpWorldSizeFromDevice, resolveCudaDevices, selectIdleGpus, listGpus } from './devices.js';
export type { ParsedDevice, Gpu } from './devices.js';
export type { DdpTrainer } from './ultralytics/types.js';
export { findFreeNetworkPort } from './launch/resolve/port.js';
export { launch, launchResolved } from './launch/run/launch.js';
export { resolveOptions } from './launch/resolve/options.js';
export { planAttempt } from './launch/plan/plan.js';
export { formatRootCause } from './launch/run/failure.js';
export { interfaceForAddress, isLocalAddress, validateMasterAddr } from './launch/resolve/netif.js';
export { torchrunArgv, torchrunEntryArgv } from './launch/torchrun/argv.js';
export type { TorchrunArgvOptions } from './launch/torchrun/argv.js';
export { parseBar } from './progress/bar.js';
export type { BarUpdate } from './progress/bar.js';
export { ResultsCsvReader } from './progress/results-csv.js';
export type { ResultsRow } from './progress/results-csv.js';
export { fitnessOf, keyMetricOf, taskOf } from './progress/fitness.js';
export type { TrainingTask } from './progress/fitness.js';
export { expandSlurmNodelist } from './slurm/nodelist.js';
export { slurmLaunchDefaults, slurmMasterPort } from './slurm/defaults.js';
export type { SlurmDefaults, SlurmValue } from './slurm/defaults.js';
export { detectSlurmMultiTask, detectSlurmMissingStep } from './slurm/layout.js';
export { renderSbatchScript } from './slurm/sbatch.js';
export type { SbatchOptions } from './slurm/sbatch.js';
export { submitSbatch, waitForJob } from './slurm/job.js';
export type { SubmitOptions, WaitOptions, JobEnd } from './slurm/job.js';
export { SlurmEnvError, SlurmCommandError, SlurmWaitTimeoutError } from './slurm/errors.js';
export { listRuns, getRun, resolveRunId, readRunEvents, RunNotFoundError } from './store/read.js';
export type { ListRunsOptions } from './store/read.js';
export { stopRun, RunNotRunningError, StopTimeoutError } from './store/stop.js';
export type { StopRunOptions } from './store/stop.js';
export { pruneRuns } from './store/gc.js';
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
  LaunchEvents,
  EpochEvent,
  ProgressEvent,
  TrainingEvent,
  TrainingOutcome,
  ResolvedOptions,
  StdSelection,
  StdSpec,
  RestartingEvent,
  ResumeRecord,
} from './launch/types.js';
export { resumeRun, planResume } from './launch/resume-run.js';
export type { ResumeRunOptions, ResumePlan, ResumedFrom } from './launch/resume-run.js';
export { RESUME_OVERRIDABLE } from './ultralytics/resume.js';
