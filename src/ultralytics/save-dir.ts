import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UnsafePathError } from '../errors.js';
import { launcherCwd } from '../os/cwd.js';
import { configDirCandidates } from './config-dir.js';

export interface SaveDirOptions {
  /**
   * Config directories whose entry files must survive (each is protected with its ancestors), besides every
   * directory `getUserConfigDir()` may return, which is always protected.
   * @default []
   */
  configDirs?: readonly string[];
}

/** Trees of the operating system: neither they nor anything below them is ever a run folder. */
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/snap',
  '/sys',
  '/usr',
  '/var',
  '/nix',
  '/System',
  '/Library',
  '/Applications',
];
/** Below a system tree, these are scratch space where a run folder may live. */
const SCRATCH = ['/var/tmp'];

/** What Ultralytics writes into a run folder (`save_dir`): plots, metrics, weights, arguments, TensorBoard events. */
const ARTEFACT = /^(?:.*\.(?:ya?ml|csv|png|jpe?g|pt|pth|onnx|json|txt|log|svg)|events\.out\.tfevents\..*)$/i;
/** A run folder bigger than this is not proven to be one (a guard must not walk a whole disk). */
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 4;

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

/** Every user's home directory (/etc/passwd), besides ours. */
function homes(): string[] {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':')[5] ?? '')
      .filter((home) => home.startsWith('/') && home !== '/');
  } catch {
    return [];
  }
}

/** Folders that must survive, with their ancestors: the user's and the launch's own places. */
function protectedDirs(options: SaveDirOptions): [string, string][] {
  const home = os.homedir();
  const env = process.env;
  const cwd = launcherCwd();
  const dirs: [string, string][] = [[home, 'the home directory']];
  if (cwd !== undefined) dirs.push([cwd, 'the current directory']);
  for (const d of options.configDirs ?? []) dirs.push([d, `the config directory ${JSON.stringify(d)}`]);
  for (const d of configDirCandidates('Ultralytics', env)) dirs.push([d, `the config directory ${JSON.stringify(d)}`]);
  dirs.push([os.tmpdir(), 'the temp directory']);
  for (const name of ['XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'DDPRUN_STATE_DIR']) {
    const value = env[name];
    if (value && path.isAbsolute(value)) dirs.push([value, `$${name}`]);
  }
  return dirs;
}

function systemReason(target: string): string | undefined {
  if (SCRATCH.some((s) => target.startsWith(`${s}/`))) return undefined;
  const tree = SYSTEM_TREES.find((t) => containsOrIs(t, target));
  if (tree) return target === tree ? 'it is a system folder' : `it is inside the system folder ${tree}`;
  if (path.dirname(target) === path.parse(target).root) return 'it is a top-level folder';
  if (path.dirname(target) === real(os.homedir())) return 'it is a folder of the home directory itself';
  return undefined;
}

/** Why `dir` is not shown to be a run folder: an entry Ultralytics does not write, too many entries, another owner. */
function notARunFolder(dir: string, stats: Stats): string | undefined {
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid() && process.getuid() !== 0)
    return `it belongs to uid ${stats.uid}, not to this user`;
  let count = 0;
  const walk = (at: string, depth: number, device: number): string | undefined => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const file = path.join(at, entry.name);
      if (++count > MAX_ENTRIES) return `it holds more than ${MAX_ENTRIES} entries`;
      if (entry.isDirectory()) {
        if (depth >= MAX_DEPTH) return `it nests folders deeper than a run folder does (${JSON.stringify(file)})`;
        if (statSync(file).dev !== device) return `a file system is mounted inside it (${JSON.stringify(file)})`;
        const why = walk(file, depth + 1, device);
        if (why) return why;
      } else if (!ARTEFACT.test(entry.name)) {
        return `it holds ${JSON.stringify(path.relative(dir, file))}, which Ultralytics does not write into a run folder`;
      }
    }
    return undefined;
  };
  return walk(dir, 1, stats.dev);
}

/**
 * Checks that `dir` may be removed recursively; returns false when it does not exist (nothing to do).
 * Refuses, with an UnsafePathError naming the path and the reason: a symbolic link, a non-directory, `/`, the
 * home, current, temp, config and XDG directories and any of their ancestors, every user's home, system folders
 * (`/usr`, `/etc`, `/var`, …) and anything inside them, top-level folders, a mount point, and any folder that
 * holds something other than what Ultralytics writes into a run folder.
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
  for (const [protectedDir, label] of protectedDirs(options)) {
    if (containsOrIs(target, real(protectedDir))) {
      refuse(target === real(protectedDir) ? `it is ${label}` : `it contains ${label}`);
    }
  }
  const system = systemReason(target);
  if (system) refuse(system);
  const home = homes().find((h) => containsOrIs(target, real(h)));
  if (home) refuse(`${target === real(home) ? 'it is' : 'it contains'} the home directory ${JSON.stringify(home)}`);
  if (statSync(path.dirname(target)).dev !== stats.dev) refuse('it is a mount point');
  const why = notARunFolder(target, stats);
  if (why) refuse(`${why}; remove it yourself if it is really a run folder`);
  return true;
}

/** `shutil.rmtree(trainer.save_dir)` with guard rails: see `checkSaveDir`. A missing dir is not an error. */
export async function removeSaveDir(dir: string, options: SaveDirOptions = {}): Promise<boolean> {
  if (!checkSaveDir(dir, options)) return false;
  await rm(path.resolve(dir), { recursive: true, force: true });
  return true;
}
