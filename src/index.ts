export { DdprunError, UsageError, PythonNotFoundError, UnsafePathError } from './errors.js';
export { findPython, probeTorch } from './python/find-python.js';
export type { PythonInfo, TorchInfo, FindPythonOptions } from './python/find-python.js';
export type { DdpTrainer } from './ultralytics/types.js';
export type { Entry, LaunchOptions, LaunchPlan, RankPlan, LaunchResult, RankResult, RootCause, LaunchEvents, StdSelection, StdSpec } from './launch/types.js';
