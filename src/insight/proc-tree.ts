import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { statFields } from '../os/proc.js';

const buffer = Buffer.alloc(4096);

/** A small /proc file in three syscalls (open, read, close) into a reused buffer; undefined when it is gone. */
function readSmall(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, null));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat on every architecture Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  pid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
  state: string;
}

/** One process's CPU time and resident pages from /proc/<pid>/stat; undefined when it is gone. */
export function readStat(pid: number): ProcStat | undefined {
  const text = readSmall(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const f = statFields(text);
  return { pid, state: f[0]!, cpuTicks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) };
}

/**
 * The children of a process's main thread (/proc/<pid>/task/<pid>/children): data-loader workers and anything forked
 * from the main thread. Children forked by another thread are not listed there (a kernel limit), nor found here.
 */
export function childrenOf(pid: number): number[] {
  const text = readSmall(`/proc/${pid}/task/${pid}/children`);
  if (text === undefined) return [];
  const out: number[] = [];
  for (const part of text.split(' ')) if (part) out.push(Number(part));
  return out;
}

/** A process and its descendants, each with its stat; zombies left out (they hold no memory and use no CPU). */
export function readTree(root: number): ProcStat[] {
  const out: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z') continue;
    out.push(stat);
    for (const child of childrenOf(pid)) queue.push(child);
  }
  return out;
}

let pageSize: number | undefined;

/** The page size, from this process's own RSS in bytes and in pages (Node has no sysconf). */
export function pageBytes(): number {
  if (pageSize === undefined) {
    try {
      const pages = Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[1]);
      const ratio = process.memoryUsage().rss / pages;
      pageSize = 2 ** Math.round(Math.log2(ratio));
    } catch {
      pageSize = 4096;
    }
  }
  return pageSize;
}
