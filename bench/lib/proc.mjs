// Whole-process measurement from the OS: wall time (monotonic clock), peak RSS (VmHWM) and CPU seconds
// (utime + stime) of the launcher process alone, sampled from /proc while it runs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { clockTicks } from './machine.mjs';

const TICKS = clockTicks();
const STDERR_TAIL_BYTES = 4096;

/** Milliseconds on CLOCK_MONOTONIC: the clock of Python's time.monotonic_ns() too. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** State letter and own CPU ticks (utime + stime, children excluded) of a pid, or undefined when it is gone. */
export function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** VmHWM (peak resident set) of a pid in KiB, or undefined. */
export function readPeakRssKb(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Alive: exists and is neither a zombie nor dead (a zombie holds nothing but its pid). */
export function isAlive(pid) {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Polls every `intervalMs` until every pid is gone; resolves the monotonic time it saw that, or null at the deadline. */
export async function waitGone(pids, deadlineMs, intervalMs = 1) {
  let alive = pids.filter(isAlive);
  while (alive.length > 0) {
    if (nowMs() >= deadlineMs) return null;
    await sleep(intervalMs);
    alive = alive.filter(isAlive);
  }
  return nowMs();
}

/**
 * Spawns a launcher in its own process group and samples its /proc entries every `sampleMs` until it exits.
 * `exited` resolves { wallMs, exitAt, code, signal, peakRssMb, cpuS, stderrTail }.
 */
export function startMeasured(file, args, { env, cwd, stdout = 'ignore', sampleMs = 10 }) {
  const startedAt = nowMs();
  const child = spawn(file, args, { env, cwd, stdio: ['ignore', stdout, 'pipe'], detached: true });
  let peakKb = 0;
  let ticks = 0;
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  const sample = () => {
    if (child.pid === undefined) return;
    const kb = readPeakRssKb(child.pid);
    if (kb !== undefined && kb > peakKb) peakKb = kb;
    const stat = readStat(child.pid);
    if (stat && stat.state !== 'Z') ticks = stat.ticks;
  };
  const timer = setInterval(sample, sampleMs);
  const exited = new Promise((resolve) => {
    const finish = (code, signal) => {
      const exitAt = nowMs();
      clearInterval(timer);
      const streamDone = child.stderr.readableEnded
        ? Promise.resolve()
        : new Promise((r) => child.stderr.once('close', r));
      // A stray grandchild could hold stderr open; never wait on it long.
      Promise.race([streamDone, sleep(500)]).then(() =>
        resolve({
          wallMs: exitAt - startedAt,
          exitAt,
          code,
          signal,
          peakRssMb: peakKb / 1024,
          cpuS: ticks / TICKS,
          stderrTail,
        }),
      );
    };
    child.once('exit', finish);
    child.once('error', (error) => {
      stderrTail += `\nspawn failed: ${error.message}`;
      finish(127, null);
    });
  });
  return { child, pid: child.pid, startedAt, exited, sample };
}
