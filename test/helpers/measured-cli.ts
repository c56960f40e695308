import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, ROOT, type CliRun } from '../cli/helpers.js';

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'max-rss.mjs');

export interface MeasuredCli {
  child: ChildProcess;
  /** The run, with the CLI's peak RSS in MiB (read from what it wrote as it exited). */
  done: Promise<CliRun & { maxRssMiB: number }>;
}

/**
 * Spawns the built `ddprun` as a real process that reports its own peak RSS at exit; `stdout` is what its stdout is
 * connected to (`'pipe'`: the test reads it, as slowly as it likes; `'ignore'`: /dev/null).
 */
export function measuredCli(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; stdout?: 'pipe' | 'ignore'; collect?: boolean },
): MeasuredCli {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-rss-'));
  const file = path.join(dir, 'max-rss');
  const child = spawn(process.execPath, ['--import', PRELOAD, CLI, ...args], {
    env: { ...options.env, DDPRUN_TEST_MAX_RSS_FILE: file },
    cwd: ROOT,
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (options.collect !== false) child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliRun & { maxRssMiB: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let kib = NaN;
      try {
        kib = Number(readFileSync(file, 'utf8'));
      } catch {
        // killed before it could write it
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, maxRssMiB: kib / 1024 });
    });
  });
  return { child, done };
}
