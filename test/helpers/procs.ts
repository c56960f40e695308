import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Whether the OS still has a live (non-zombie) process with this pid. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface UntilOptions {
  /** How long to poll before failing. @default 60_000 */
  timeoutMs?: number;
  /** The pause between two polls. @default 50 */
  everyMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false, and resolves that value (true for a
 * predicate). Rejects after `timeoutMs` with "timed out after N ms waiting for <what>" (`what` is called then, so it
 * can describe the state at that moment).
 */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 60_000, everyMs = 50 }: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls until none of the pids is alive; returns those still alive after `timeoutMs`. */
export async function waitGone(pids: readonly number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(pidAlive);
  while (alive.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    alive = alive.filter(pidAlive);
  }
  return alive;
}

/** Bytes the process has written so far (/proc/PID/io). */
export function written(pid: number): number {
  return Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
}

/** Polls until the rank has written nothing for `polls` polls in a row (it blocks: back-pressure), or it exits. */
export async function rankBlocks(pid: number, polls = 8): Promise<boolean> {
  let last = -1;
  let still = 0;
  while (pidAlive(pid)) {
    const now = written(pid);
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= polls) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Every pid the fixtures wrote into `dir` (one file per rank, space-separated pids). */
export function readPids(dir: string): number[] {
  return readdirSync(dir).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').trim().split(/\s+/).map(Number));
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix = 'ddprun-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
