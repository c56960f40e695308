// The root entry: launching and supervising ranks. The Ultralytics port is `ddprun/ultralytics`, the Slurm
// helpers `ddprun/slurm`.
export { DdprunError, UsageError, PythonNotFoundError, UnsafePathError, RendezvousTimeoutError } from './errors.js';
export { launch, launchResolved } from './launch/run/launch.js';
export { resolveOptions } from './launch/resolve/options.js';
export { planAttempt } from './launch/plan/plan.js';
export { formatRootCause } from './launch/run/failure.js';
export { findPython, probeTorch } from './python/find-python.js';
export type { PythonInfo, TorchInfo, FindPythonOptions } from './python/find-python.js';
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
  ResolvedOptions,
  StdSelection,
  StdSpec,
} from './launch/types.js';
