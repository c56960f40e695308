import { readFileSync } from 'node:fs';
import os from 'node:os';
import { readStat } from './proc.js';

// A pid is not an identity (pids are reused): a process is named by its pid, its start time and the boot it
// belongs to. Entry-file owners and run-store launchers are both checked this way.

/** A process on some host: enough to tell later whether it is still the same, alive process. */
export interface ProcessIdentity {
  pid: number;
  /** Start time of `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22); null where there is no /proc. */
  start: number | null;
  /** `/proc/sys/kernel/random/boot_id`: a pid and start time only mean something within one boot. */
  boot: string | null;
  host: string;
}

export function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** The identity of a process on this host (default: this one). */
export function processIdentity(pid: number = process.pid): ProcessIdentity {
  return { pid, start: readStat(pid)?.start ?? null, boot: readBootId(), host: os.hostname() };
}

/** 'alive', 'dead', or 'unknown' (another host: its processes cannot be seen from here). */
export function identityState(who: ProcessIdentity): 'alive' | 'dead' | 'unknown' {
  if (who.host !== os.hostname()) return 'unknown';
  const boot = readBootId();
  if (who.boot && boot && who.boot !== boot) return 'dead';
  try {
    process.kill(who.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to another user, so it is alive.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
  }
  const stat = readStat(who.pid);
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X') return 'dead';
    if (who.start !== null && stat.start !== who.start) return 'dead'; // the pid was reused
  }
  return 'alive';
}
