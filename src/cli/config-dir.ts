import { configDirCandidates } from '../ultralytics/config-dir.js';
import { writableDirProblem } from '../os/writable-dir.js';

/** Whether `dir` is (or could be created as) a writable directory; creates nothing. */
export function canWrite(dir: string): boolean {
  return writableDirProblem(dir) === undefined;
}

/**
 * The directory `getUserConfigDir()` would return, found without creating it (getUserConfigDir creates
 * it): for --dry-run, which must leave no trace, and for doctor. Undefined when none is writable.
 */
export function probeConfigDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return configDirCandidates('Ultralytics', env).find(canWrite);
}
