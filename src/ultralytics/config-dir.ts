import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launcherCwd } from '../os/cwd.js';
import { FileSystemError } from '../errors.js';
import { writableDirProblem } from '../os/writable-dir.js';

function isWritableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function expandUser(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** Where the platform keeps per-user configuration, before any fallback (Ultralytics' first choice). */
function preferredConfigDir(subDir: string, env: NodeJS.ProcessEnv): string {
  if (env.YOLO_CONFIG_DIR) return path.resolve(expandUser(env.YOLO_CONFIG_DIR), subDir);
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(home, 'AppData', 'Roaming', subDir);
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', subDir);
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), subDir);
}

/** Every directory `getUserConfigDir` may return, in order; nothing is created. */
export function configDirCandidates(subDir = 'Ultralytics', env: NodeJS.ProcessEnv = process.env): string[] {
  const cwd = launcherCwd(); // deleted: no `<cwd>/<subDir>` candidate
  return [
    preferredConfigDir(subDir, env),
    path.join('/tmp', subDir),
    ...(cwd === undefined ? [] : [path.join(cwd, subDir)]),
  ];
}

function usable(dir: string): boolean {
  if (existsSync(dir)) return statSync(dir).isDirectory() && isWritableDir(dir);
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

function noConfigDir(preferred: string, subDir: string): FileSystemError {
  return new FileSystemError(
    `No writable user config directory: '${preferred}', '/tmp/${subDir}' and '${path.join(launcherCwd() ?? '.', subDir)}' could not be created or written. ` +
      'Set YOLO_CONFIG_DIR to a writable directory (or pass `configDir`).',
    { path: preferred, action: 'create the user config directory' },
  );
}

function fellBack(preferred: string, alt: string): void {
  process.emitWarning(
    `user config directory '${preferred}' is not writable, using '${alt}'. Set YOLO_CONFIG_DIR to override.`,
  );
}

/**
 * Ultralytics' `get_user_config_dir`: `YOLO_CONFIG_DIR/<subDir>`, else the platform's config dir
 * (`$XDG_CONFIG_HOME` or `~/.config` on Linux); when that cannot be created or written, `/tmp/<subDir>`,
 * then `<cwd>/<subDir>`. The directory exists when this returns.
 */
export function getUserConfigDir(subDir = 'Ultralytics', env: NodeJS.ProcessEnv = process.env): string {
  const [preferred = '', ...alternatives] = configDirCandidates(subDir, env);
  if (usable(preferred)) return preferred;
  for (const alt of alternatives) {
    if (usable(alt)) {
      fellBack(preferred, alt);
      return alt;
    }
  }
  throw noConfigDir(preferred, subDir);
}

/**
 * The directory `getUserConfigDir` picks, without creating it: the DDP entry file's folder is created only once its
 * ancestors have been checked (nothing is made inside a folder that another user could change).
 */
export function findUserConfigDir(subDir = 'Ultralytics', env: NodeJS.ProcessEnv = process.env): string {
  const [preferred = '', ...alternatives] = configDirCandidates(subDir, env);
  if (!writableDirProblem(preferred)) return preferred;
  const alt = alternatives.find((dir) => !writableDirProblem(dir));
  if (alt === undefined) throw noConfigDir(preferred, subDir);
  fellBack(preferred, alt);
  return alt;
}
