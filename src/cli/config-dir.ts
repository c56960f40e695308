import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { configDirCandidates } from '../ultralytics/config-dir.js';

function nearestExisting(dir: string): string {
  let current = dir;
  while (!existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

/** Whether `dir` is (or could be created as) a writable directory; creates nothing. */
export function canWrite(dir: string): boolean {
  try {
    const existing = nearestExisting(dir);
    if (existing === dir && !statSync(dir).isDirectory()) return false;
    accessSync(existing, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory `getUserConfigDir()` would return, found without creating it (getUserConfigDir creates
 * it): for --dry-run, which must leave no trace, and for doctor. Undefined when none is writable.
 */
export function probeConfigDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return configDirCandidates('Ultralytics', env).find(canWrite);
}
