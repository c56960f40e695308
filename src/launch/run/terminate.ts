import { carriesMark, groupMembers } from '../../os/proc.js';

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

/**
 * A rank's process group, as ddprun knows it. A group id is a pid, and pids are reused: once the leader is reaped and
 * its group has emptied, the same id can name an unrelated process's group. So a group is signalled only while it is
 * provably ours: its leader is not reaped yet (an unreaped child's pid cannot be reused), or one of its live members
 * carries the run's mark (see `runMark`).
 */
export interface OwnedGroup {
  pgid: number;
  /** True until Node has reaped the leader (ChildProcess.exitCode and signalCode both null). */
  leaderUnreaped(): boolean;
  mark: Buffer;
}

/** Whether the group still has a live process that is provably ours (zombies do not count). */
export function ownedGroupAlive(group: OwnedGroup): boolean {
  if (!signalGroup(group.pgid, 0)) return false;
  const members = groupMembers(group.pgid);
  // No /proc (not Linux): kill(2) is all there is to go by.
  if (!members) return true;
  if (members.length === 0) return false;
  if (group.leaderUnreaped()) return true;
  return members.some((m) => carriesMark(m.pid, group.mark));
}

/** Signals the group if it is alive and ours (checked just before the signal); false when it was left alone. */
export function signalOwnedGroup(group: OwnedGroup, signal: NodeJS.Signals): boolean {
  // An unreaped leader holds the group id: no /proc scan needed (a stop of 256 ranks stays cheap).
  if (group.leaderUnreaped()) return signalGroup(group.pgid, signal);
  return ownedGroupAlive(group) && signalGroup(group.pgid, signal);
}

function sleep(ms: number): Promise<void> {
  // Not unref'd: when only leftover children remain, this wait is the launch's work and must keep Node running.
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until no group has a live process of ours; after `graceMs` (or at once when `force.now`), SIGKILLs what is
 * left, then waits at most KILLED_WAIT_MS more. Exited leaders are reaped by Node, so what is polled here is only
 * their leftover children (grandchildren cannot be waited for).
 */
export async function reapGroups(
  groups: readonly OwnedGroup[],
  graceMs: number,
  force: { now: boolean },
): Promise<void> {
  const deadline = Date.now() + graceMs;
  let killedAt: number | undefined;
  let alive = groups.filter(ownedGroupAlive);
  while (alive.length > 0) {
    if (force.now || Date.now() >= deadline) {
      for (const group of alive) signalOwnedGroup(group, 'SIGKILL');
      killedAt ??= Date.now();
      if (Date.now() - killedAt > KILLED_WAIT_MS) return;
    }
    await sleep(POLL_MS);
    alive = alive.filter(ownedGroupAlive);
  }
}
