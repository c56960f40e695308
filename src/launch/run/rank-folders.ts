import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { FileSystemError } from '../../errors.js';
import type { LogFiles } from './log-files.js';
import type { RankPlan } from '../../model/types.js';

/**
 * A rank's folder (log or error file) cannot be created: nothing of that attempt was started. A `FileSystemError`
 * (`ERR_DDPRUN_FS`).
 */
export class RankFolderError extends FileSystemError {
  constructor(message: string, file: string, cause: unknown) {
    super(message, { path: file, action: 'create the rank folders', cause });
  }
}

function describe(code: string | undefined, message: string): string {
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a file is in the way of the folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'ENAMETOOLONG') return 'the path is too long';
  return message;
}

/**
 * Creates every rank's error and log folders of an attempt before the first rank starts, so that one bad path starts
 * nothing.
 */
export function prepareRankFolders(ranks: readonly RankPlan[], logFiles?: LogFiles): void {
  for (const rank of ranks) {
    const folders: [string, number | undefined, string][] = [[path.dirname(rank.errorFile), 0o700, 'error file']];
    for (const log of [rank.stdoutLog, rank.stderrLog])
      if (log !== undefined) folders.push([path.dirname(log), undefined, 'log']);
    for (const [dir, mode, what] of folders) {
      try {
        // Log folders as the log files make them: never through a symbolic link.
        if (what === 'log' && logFiles) logFiles.folders(dir);
        else mkdirSync(dir, { recursive: true, mode });
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        throw new RankFolderError(
          `Cannot create the ${what} folder ${JSON.stringify(dir)} of rank ${rank.rank}: ${describe(e.code, e.message)}. No rank of this attempt was started.`,
          dir,
          error,
        );
      }
    }
  }
}
