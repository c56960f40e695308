import { lstatSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UnsafePathError } from '../errors.js';

export interface SaveDirOptions {
  /**
   * Config directories whose entry files must survive (each is protected with its ancestors).
   * @default [] (only `/`, the home directory and the current directory are protected)
   */
  configDirs?: readonly string[];
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p); // not there (yet): compare as written
  }
}

/** `a` is `b` or one of its ancestors. */
function containsOrIs(a: string, b: string): boolean {
  const rel = path.relative(a, b);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Checks that `dir` may be removed recursively; returns false when it does not exist (nothing to do).
 * Refuses, with an UnsafePathError naming the path and the reason: a symbolic link, a non-directory,
 * `/`, the home directory, the current directory or any ancestor, a config directory or any ancestor.
 */
export function checkSaveDir(dir: string, options: SaveDirOptions = {}): boolean {
  const resolved = path.resolve(dir);
  let stats;
  try {
    stats = lstatSync(resolved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const refuse = (reason: string): never => {
    throw new UnsafePathError(`Refusing to remove the save_dir ${JSON.stringify(resolved)}: ${reason}.`, resolved);
  };
  if (stats.isSymbolicLink()) refuse('it is a symbolic link');
  if (!stats.isDirectory()) refuse('it is not a directory');
  const target = real(resolved);
  if (target === path.parse(target).root) refuse('it is the root directory');
  const protectedDirs: [string, string][] = [
    [os.homedir(), 'the home directory'],
    [process.cwd(), 'the current directory'],
    ...(options.configDirs ?? []).map((d): [string, string] => [d, `the config directory ${JSON.stringify(d)}`]),
  ];
  for (const [protectedDir, label] of protectedDirs) {
    if (containsOrIs(target, real(protectedDir))) {
      refuse(target === real(protectedDir) ? `it is ${label}` : `it contains ${label}`);
    }
  }
  return true;
}

/** `shutil.rmtree(trainer.save_dir)` with guard rails: see `checkSaveDir`. A missing dir is not an error. */
export async function removeSaveDir(dir: string, options: SaveDirOptions = {}): Promise<boolean> {
  if (!checkSaveDir(dir, options)) return false;
  await rm(path.resolve(dir), { recursive: true, force: true });
  return true;
}
