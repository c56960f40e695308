import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll } from 'vitest';
import { newestMtime } from '../build-dist.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const WORKER = path.join(FIXTURES, 'cli_worker.py');

/** Builds dist/ when it is missing or older than src/ (`npm test` builds first; this is for `vitest run test/cli`). */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestMtime(path.join(ROOT, 'src'))) return;
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/** The words of a command line, for argv written as one line (no word holds a space). */
export const words = (line: string): string[] => line.split(' ');

/** The flags of node 1 of a 2-node job whose master, 127.0.0.1:9, never answers: it gives up after `rdzvTimeout` s. */
export const unreachableMaster = (rdzvTimeout: string): string[] => [
  ...['--nnodes', '2', '--node-rank', '1', '--master-addr', '127.0.0.1', '--master-port', '9'],
  ...['--rdzv-timeout', rdzvTimeout],
];

/** A temp HOME and YOLO_CONFIG_DIR per test, so nothing touches the real home. */
export interface Sandbox {
  dir: string;
  /** DDPRUN_STATE_DIR of this sandbox. */
  state: string;
  home: string;
  configDir: string;
  out: string;
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-cli-'));
  const home = path.join(dir, 'home');
  const configDir = path.join(dir, 'config');
  const out = path.join(dir, 'out');
  const tmp = path.join(dir, 'tmp');
  for (const d of [home, out, tmp]) mkdirSync(d);
  // Everything the CLI could write lands under `dir` (config, cache, run folders, logs), so `listFiles(dir)` sees it.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    TMPDIR: tmp,
    YOLO_CONFIG_DIR: configDir,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    // The run store of this sandbox (a launch records itself here).
    DDPRUN_STATE_DIR: path.join(dir, 'state'),
  };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  delete env.DDPRUN_PYTHON;
  return {
    dir,
    state: path.join(dir, 'state'),
    home,
    configDir,
    out,
    env,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `box()`: a fresh sandbox for the test, removed after it. The CLI is built (`ensureBuilt`) before the tests. */
export function useSandboxes(): () => Sandbox {
  beforeAll(() => ensureBuilt());
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return () => {
    const s = sandbox();
    cleanups.push(s.cleanup);
    return s;
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the built `ddprun` as a real process. */
export function startCli(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: options.env,
    cwd: options.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCli(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<CliRun> {
  return startCli(args, options).done;
}

/** Every file under `dir` (relative paths), for "left no trace" checks. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Pids of live processes whose command line contains `token`. */
export function processesWith(token: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(token);
      } catch {
        return false;
      }
    })
    .map(Number);
}
