import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

// Forces the kernel to hand `pid` to the next process: writes pid-1 into ns_last_pid, forks a `setsid sleep`, and
// retries while other processes on the machine take the pid first (the race is tight, so the loop runs in one sh).
const TAKE_PID = `want=$1; i=0
while [ $i -lt 5000 ]; do
  i=$((i+1))
  [ -e /proc/$want ] && exit 1
  echo $((want-1)) > /proc/sys/kernel/ns_last_pid || exit 3
  setsid sleep 600 </dev/null >/dev/null 2>&1 &
  got=$!
  if [ "$got" = "$want" ]; then echo "$got"; exit 0; fi
  kill -9 $got 2>/dev/null
done
exit 2`;

/** Whether this process may force pids (root, with a writable `ns_last_pid`). */
export function canForcePids(): boolean {
  return process.getuid?.() === 0 && existsSync('/proc/sys/kernel/ns_last_pid');
}

/** Start time (clock ticks since boot) of a live pid, or undefined. */
export function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/**
 * An unrelated process (`setsid sleep 600`: its own session and group, parent init) that got `pid`, a pid that was
 * just freed; undefined when another process on the machine took the pid first (the caller runs its scenario again).
 */
export function occupyPid(pid: number): { pid: number; start: number; kill: () => void } | undefined {
  let out: string;
  try {
    out = execFileSync('/bin/sh', ['-c', TAKE_PID, 'take-pid', String(pid)], { encoding: 'utf8', timeout: 30_000 });
  } catch {
    return undefined;
  }
  if (Number(out.trim()) !== pid) return undefined;
  const start = startTimeOf(pid);
  if (start === undefined) return undefined;
  return {
    pid,
    start,
    // Only the process we started: same pid and same start time.
    kill: () => {
      if (startTimeOf(pid) === start) process.kill(pid, 'SIGKILL');
    },
  };
}

/** Whether the process `occupyPid` started is still the one alive at that pid (not a zombie). */
export function stillRunning(p: { pid: number; start: number }): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && Number(fields[19]) === p.start;
  } catch {
    return false;
  }
}

/** Pids with their start times, so that "gone" is never confused with "reused" (pids come back fast here). */
export function identify(pids: readonly number[]): { pid: number; start: number }[] {
  return pids.map((pid) => ({ pid, start: startTimeOf(pid) ?? -1 }));
}

/** Polls until none of the processes runs any more; returns the pids still running after `timeoutMs`. */
export async function waitAllGone(
  procs: readonly { pid: number; start: number }[],
  timeoutMs = 5000,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = procs.filter(stillRunning);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(stillRunning);
  }
  return left.map((p) => p.pid);
}
