import { readdirSync, readFileSync } from 'node:fs';

/** How long to wait for a SIGKILLed group to go (a process in uninterruptible sleep can outlast SIGKILL briefly). */
const KILLED_WAIT_MS = 2000;
const POLL_MS = 10;

/** Signals a rank's whole process group (the rank and every child it forked, data-loader workers included). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty
  }
}

// kill(-pgid, 0) also counts zombies: a leftover child reparented to init stays one until init reaps it (slowly
// on some machines, never when ddprun itself is PID 1). A zombie holds nothing, so only live members count.
function hasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true; // no /proc: trust kill(2)
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

/** Whether any process of the group is still alive (zombies do not count). */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0) && hasLiveMember(pgid);
}

function sleep(ms: number): Promise<void> {
  // Not unref'd: when only leftover children remain, this wait is the launch's work and must keep Node running.
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until every group is empty; after `graceMs` (or at once when `force.now`), SIGKILLs whatever is left, then
 * waits at most KILLED_WAIT_MS more. Exited leaders are reaped by Node, so what is polled here is only their leftover
 * children (grandchildren cannot be waited for).
 */
export async function reapGroups(pgids: readonly number[], graceMs: number, force: { now: boolean }): Promise<void> {
  const deadline = Date.now() + graceMs;
  let killedAt: number | undefined;
  let alive = pgids.filter(groupAlive);
  while (alive.length > 0) {
    if (force.now || Date.now() >= deadline) {
      for (const pgid of alive) signalGroup(pgid, 'SIGKILL');
      killedAt ??= Date.now();
      if (Date.now() - killedAt > KILLED_WAIT_MS) return;
    }
    await sleep(POLL_MS);
    alive = alive.filter(groupAlive);
  }
}
