import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { readProcFile } from '../os/proc.js';

/** What the kernel said when its OOM killer chose a process. */
export interface OomKill {
  pid: number;
  /** `anon-rss + file-rss + shmem-rss` at the kill, when the line says. */
  rssBytes: number | undefined;
  /** `Memory cgroup out of memory` (a cgroup limit) rather than the whole machine. */
  cgroup: boolean;
  line: string;
}

const KMSG_RECORD_BYTES = 8192;

/** Every record of the kernel's ring buffer as `[seconds since boot, text]`; empty when it cannot be read. */
function readKmsg(): [number, string][] {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  const out: [number, string][] = [];
  const buffer = Buffer.alloc(KMSG_RECORD_BYTES);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        // EPIPE: a record was overwritten while reading; the next read continues with the oldest one left.
        if ((error as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break; // EAGAIN: the end of the buffer
      }
      if (n <= 0) break;
      const record = buffer.toString('utf8', 0, n);
      const semi = record.indexOf(';');
      const usec = Number(record.slice(0, semi).split(',')[2]);
      out.push([usec / 1e6, record.slice(semi + 1).split('\n')[0] ?? '']);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** `dmesg` where /dev/kmsg cannot be opened (an unprivileged user with dmesg_restrict=0). */
function readDmesg(): [number, string][] {
  let text: string;
  try {
    text = execFileSync('dmesg', { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line): [number, string][] => {
    const m = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(line);
    return m ? [[Number(m[1]), m[2] ?? '']] : [];
  });
}

function uptimeSeconds(): number {
  try {
    return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Parses one kernel line `… Killed process 18165 (python3) total-vm:…, anon-rss:101888kB, file-rss:6604kB, …`. */
export function parseOomLine(line: string): OomKill | undefined {
  const m = /Killed process (\d+) \(/.exec(line);
  if (!m) return undefined;
  const kb = (name: string) => Number(new RegExp(`${name}:(\\d+)kB`).exec(line)?.[1] ?? NaN);
  const rss = kb('anon-rss') + kb('file-rss') + (kb('shmem-rss') || 0);
  return {
    pid: Number(m[1]),
    rssBytes: Number.isFinite(rss) ? rss * 1024 : undefined,
    cgroup: /Memory cgroup out of memory/.test(line),
    line,
  };
}

/**
 * Whether the kernel's OOM killer killed `pid` within the last `withinMs` (the kernel log's "Killed process <pid>"),
 * read from /dev/kmsg, else from `dmesg`. The time window keeps a reused pid's old kill from counting.
 */
export function findOomKill(pid: number, withinMs: number): OomKill | undefined {
  const since = uptimeSeconds() - withinMs / 1000 - 2;
  let records = readKmsg();
  if (records.length === 0) records = readDmesg();
  for (let i = records.length - 1; i >= 0; i--) {
    const [at, text] = records[i]!;
    if (at < since) break;
    const kill = parseOomLine(text);
    if (kill?.pid === pid) return kill;
  }
  return undefined;
}

/** The memory cgroup (v1 `memory` controller, or v2) of a live process, as a path under /sys/fs/cgroup. */
export function memoryCgroupOf(pid: number): string | undefined {
  const text = readProcFile(pid, 'cgroup');
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [, controllers, where] = line.split(':');
    if (where === undefined) continue;
    if (controllers!.split(',').includes('memory')) return `/sys/fs/cgroup/memory${where === '/' ? '' : where}`;
  }
  const v2 = /^0::(.*)$/m.exec(text)?.[1];
  return v2 === undefined ? undefined : `/sys/fs/cgroup${v2 === '/' ? '' : v2}`;
}

/** A memory cgroup's OOM kills so far and its limit (undefined when unlimited or unreadable). */
export function cgroupMemory(dir: string): { oomKills: number; limitBytes: number | undefined } {
  const read = (file: string) => {
    try {
      return readFileSync(`${dir}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const v1 = read('memory.oom_control');
  const counters = v1 ?? read('memory.events') ?? '';
  const oomKills = Number(/^oom_kill (\d+)/m.exec(counters)?.[1] ?? 0);
  const rawLimit = (v1 !== undefined ? read('memory.limit_in_bytes') : read('memory.max'))?.trim();
  const limit = rawLimit && rawLimit !== 'max' ? Number(rawLimit) : NaN;
  // cgroup v1 says "no limit" with a page-rounded 2^63-1.
  return { oomKills, limitBytes: Number.isFinite(limit) && limit < 2 ** 62 ? limit : undefined };
}
