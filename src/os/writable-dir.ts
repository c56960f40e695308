import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Why a directory cannot be written: `at` (the directory or the ancestor in the way) is a file, or not writable. */
export interface WritableDirProblem {
  at: string;
  reason: 'file' | 'not-writable';
}

/**
 * Whether `dir` is, or could be created as, a directory this process can write: undefined when it can, else what is
 * in the way. Creates nothing (a dry run and `doctor` use it too).
 */
export function writableDirProblem(dir: string): WritableDirProblem | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(at).isDirectory();
    } catch {
      isDir = undefined; // does not exist (yet): its parent decides
    }
    if (isDir === false) return { at, reason: 'file' };
    if (isDir) {
      try {
        accessSync(at, constants.W_OK | constants.X_OK);
        return undefined;
      } catch {
        return { at, reason: 'not-writable' };
      }
    }
    if (path.dirname(at) === at) return undefined;
  }
}
