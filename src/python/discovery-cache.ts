import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launcherCwd } from '../os/cwd.js';

/**
 * Remembers which interpreter `findPython()` chose, so that a launch does not start every candidate again
 * (a pyenv shim alone takes ~90 ms). An entry holds the modification times of everything the choice depended
 * on — the candidates, their interpreters, every `sys.path` folder of each (installing torch anywhere changes
 * one), torch's own `__init__.py`, pyenv's version files — and is used only while all of them are unchanged.
 */
export interface DiscoveryEntry<T> {
  value: T;
  fingerprint: [string, number][];
}

const MAX_ENTRIES = 32;

/**
 * `$XDG_CACHE_HOME/ddprun/python-discovery.json` (`~/.cache/ddprun/…`): per user, and kept across temp-dir clean-ups.
 */
export function discoveryCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'ddprun', 'python-discovery.json');
}

const cacheFile = () => discoveryCacheFile();

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** The inputs of a discovery besides the files: the variables it reads and the folder (pyenv's `.python-version`). */
export function discoveryKey(env: NodeJS.ProcessEnv, cwd = launcherCwd() ?? '/'): string {
  return JSON.stringify([env.PATH ?? '', env.VIRTUAL_ENV ?? '', env.CONDA_PREFIX ?? '', env.PYENV_VERSION ?? '', cwd]);
}

/** pyenv decides what its shims run from these files; a change to any of them changes the choice. */
export function pyenvFiles(env: NodeJS.ProcessEnv, cwd = launcherCwd() ?? '/'): string[] {
  const files: string[] = [];
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    files.push(path.join(dir, '.python-version'));
    if (path.dirname(dir) === dir) break;
  }
  files.push(path.join(env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'version'));
  return files;
}

function readAll(): Record<string, DiscoveryEntry<unknown>> {
  try {
    const all: unknown = JSON.parse(readFileSync(cacheFile(), 'utf8'));
    // Anything but an object of entries (a truncated or hand-edited file) is as good as no cache.
    return all && typeof all === 'object' && !Array.isArray(all)
      ? (all as Record<string, DiscoveryEntry<unknown>>)
      : {};
  } catch {
    return {};
  }
}

/** The cached value for `key`, when every file it depended on is as it was. */
export function readDiscovery<T>(key: string): T | undefined {
  const entry = readAll()[key] as DiscoveryEntry<T> | undefined;
  if (!entry || typeof entry !== 'object' || !Array.isArray(entry.fingerprint)) return undefined;
  return entry.fingerprint.every(([file, mtime]) => mtimeOf(file) === mtime) ? entry.value : undefined;
}

const staged = new Map<string, { value: unknown; files: readonly string[] }>();

/**
 * Keeps a choice to be written by `commitDiscovery()`: checking options (a dry run, bad input, `doctor`) writes
 * nothing; a launch that starts commits it.
 */
export function stageDiscovery<T>(key: string, value: T, files: readonly string[]): void {
  staged.set(key, { value, files });
}

/** Writes the staged choices (a launch is starting). */
export function commitDiscovery(): void {
  for (const [key, { value, files }] of staged) writeDiscovery(key, value, files);
  staged.clear();
}

/** Records a choice and what it depended on; best effort (an unwritable cache folder only costs the speed-up). */
export function writeDiscovery<T>(key: string, value: T, files: readonly string[]): void {
  try {
    const file = cacheFile();
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const all = readAll();
    delete all[key];
    all[key] = { value, fingerprint: [...new Set(files)].map((f) => [f, mtimeOf(f)]) };
    const keys = Object.keys(all);
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) delete all[old];
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    /* no cache this time */
  }
}
