import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { afterEach } from 'vitest';
import { launch, type LaunchHandle, type LaunchOptions } from 'ddprun';
import { tempDir } from './procs.js';

/** A fixture of test/fixtures/launch/. */
export const launchFixture = (name: string): string => path.resolve('test/fixtures/launch', name);

/** `launch()` of `script` (a fixture of test/fixtures/launch/) with `args`, the console off and `options`. */
export function launchQuietly(
  script: string,
  args: readonly string[] = [],
  options: Omit<LaunchOptions, 'entry'> = {},
): LaunchHandle {
  return launch({ entry: { script: launchFixture(script), args: [...args] }, console: false, ...options });
}

/** fixtures/launch/launcher.mjs: `launch(options)` of the built library, with `console: true`, in a real parent process. */
const LAUNCHER = launchFixture('launcher.mjs');

/**
 * The launcher tests' shared set-up: `cleanups` run (in order, awaited) after each test, and `tempDir()` gives a
 * fresh folder removed then.
 */
export function useCleanups(): { cleanups: (() => unknown)[]; tempDir: (prefix?: string) => string } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return {
    cleanups,
    tempDir: (prefix) => {
      const t = tempDir(prefix);
      cleanups.push(t.cleanup);
      return t.dir;
    },
  };
}

/** Runs launcher.mjs with `options` to its end (killed after `timeoutMs`); its exit status and output. */
export function runLauncher(options: object, timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [LAUNCHER, JSON.stringify(options)], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: timeoutMs,
  });
}

/** A launcher.mjs process running in the background. */
export interface LauncherProcess {
  proc: ChildProcess;
  /** Its stdout and stderr so far, as they came. */
  output: () => string;
  /** Resolves with its exit code and signal. */
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Starts launcher.mjs with `options` (and `env`, else this process's); `cleanups` SIGKILLs it after the test. */
export function startLauncher(
  options: object,
  cleanups: (() => unknown)[],
  env: NodeJS.ProcessEnv = process.env,
): LauncherProcess {
  const proc = spawn(process.execPath, [LAUNCHER, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  cleanups.push(() => proc.kill('SIGKILL'));
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    proc.on('exit', (code, signal) => resolve([code, signal])),
  );
  return { proc, output: () => out, exit };
}

/** How many ranks printed `ready` (the sleeper fixture's first line) to a launcher's console. */
export const readyRanks = (launcher: LauncherProcess): number => launcher.output().match(/\]:ready/g)?.length ?? 0;
