import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../errors.js';

/** Checks, without creating anything, that `dir` exists as a directory or could be created as one. */
export function creatableDir(option: string, dir: string): void {
  for (let at = dir; ; at = path.dirname(at)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(at).isDirectory();
    } catch {
      isDir = undefined; // does not exist (yet): look at its parent
    }
    if (isDir === false)
      throw new UsageError(
        `The \`${option}\` option names ${JSON.stringify(dir)}, but ${JSON.stringify(at)} is a file, not a directory.`,
        option,
      );
    if (isDir) {
      try {
        accessSync(at, constants.W_OK | constants.X_OK);
      } catch {
        throw new UsageError(
          `The \`${option}\` option names ${JSON.stringify(dir)}, but ${JSON.stringify(at)} is not writable. Choose a directory you can write.`,
          option,
        );
      }
      return;
    }
    if (path.dirname(at) === at) return;
  }
}

export function existingDir(option: string, dir: string): string {
  const abs = path.resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir)
    throw new UsageError(
      `The \`${option}\` option names ${JSON.stringify(dir)}, which is not an existing directory.`,
      option,
    );
  return abs;
}

/** The temp folder (`$TMPDIR`, else /tmp) where run folders go: it must exist and be writable; nothing is created. */
export function usableTmpdir(): string {
  const dir = os.tmpdir();
  const from = process.env.TMPDIR ? `TMPDIR=${JSON.stringify(process.env.TMPDIR)}` : JSON.stringify(dir);
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    throw new UsageError(
      `The temp folder ${from} does not exist. Create it, or set TMPDIR to a folder you can write.`,
      'TMPDIR',
    );
  }
  if (!stats.isDirectory())
    throw new UsageError(`The temp folder ${from} is not a directory. Set TMPDIR to a folder you can write.`, 'TMPDIR');
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'EROFS' ? 'is on a read-only file system' : 'is not writable';
    throw new UsageError(`The temp folder ${from} ${why}. Set TMPDIR to a folder you can write.`, 'TMPDIR');
  }
  return dir;
}
