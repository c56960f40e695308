// Every process a benchmark run starts inherits BENCH_TAG=<tag> (launcher, ranks, watchdogs, orphans alike), so
// whatever is left after a run is found from /proc and killed by pid, and reported.
import { readdirSync, readFileSync } from 'node:fs';
import { isAlive, sleep } from './proc.mjs';

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120);
  } catch {
    return '?';
  }
}

/** Live processes whose environment has BENCH_TAG starting with `tagPrefix`. */
export function findTagged(tagPrefix) {
  const needle = Buffer.from(`BENCH_TAG=${tagPrefix}`);
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    const at = environ.indexOf(needle);
    if (at === -1 || (at > 0 && environ[at - 1] !== 0)) continue;
    if (isAlive(pid)) found.push({ pid, cmd: cmdline(pid) });
  }
  return found;
}

/** Waits up to `graceMs` for tagged processes to end by themselves, then SIGKILLs each by pid; returns what it killed. */
export async function sweepTagged(tagPrefix, graceMs) {
  const deadline = Date.now() + graceMs;
  let left = findTagged(tagPrefix);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(20);
    left = findTagged(tagPrefix);
  }
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return left;
}

/** SIGKILLs the pids given, each by pid (orphans a launcher left behind). */
export function killPids(pids) {
  for (const pid of pids) {
    try {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
