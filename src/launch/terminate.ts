import type { ChildProcess } from 'node:child_process';

/** Signals a rank's whole process group (the rank and every child it forked, data-loader workers included). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty
  }
}

/** Whether any process of the group is still alive. */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Waits until every group is empty; after `graceMs`, SIGKILLs whatever is left. Exited leaders are reaped by Node,
 * so what is polled here is only their leftover children (grandchildren cannot be waited for).
 */
export async function reapGroups(pgids: readonly number[], graceMs: number, force: { now: boolean }): Promise<void> {
  const deadline = Date.now() + graceMs;
  let alive = pgids.filter(groupAlive);
  while (alive.length > 0) {
    if (force.now || Date.now() >= deadline) {
      for (const pgid of alive) signalGroup(pgid, 'SIGKILL');
    }
    await sleep(10);
    alive = alive.filter(groupAlive);
  }
}

/** Resolves when the child has exited (immediately when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
