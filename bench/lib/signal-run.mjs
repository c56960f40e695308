// Shared by benchmarks 3 and 4: start cooperative sleepers, wait until every rank recorded its pid, signal the
// launcher alone, and poll /proc every millisecond until every worker is gone (or the bound passes).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, nowMs, sleep, waitGone } from './proc.mjs';

const READY_TIMEOUT_MS = 30_000;

async function pidsOf(dir, n, m) {
  const deadline = nowMs() + READY_TIMEOUT_MS;
  let exitedEarly = false;
  m.exited.then(() => (exitedEarly = true));
  while (nowMs() < deadline && !exitedEarly) {
    const files = Array.from({ length: n }, (_, r) => path.join(dir, String(r)));
    if (files.every((f) => existsSync(f))) return files.map((f) => Number(readFileSync(f, 'utf8')));
    await sleep(5);
  }
  return undefined;
}

/** Returns { goneMs, launcherExitMs, orphans } (null = never within boundMs), or { error }. */
export async function signalRun(h, { bench, contender, nproc, signal, boundMs }) {
  const job = { nproc, entry: 'bench/fixtures/sleepers.py' };
  let out;
  await h.run({
    bench,
    variant: `${nproc} ranks`,
    contender,
    job,
    env: (ctx) => ({ BENCH_PID_DIR: ctx.workDir, BENCH_SLEEP_S: '120' }),
    during: async (m, ctx) => {
      const pids = await pidsOf(ctx.workDir, nproc, m);
      if (!pids) {
        const r = await Promise.race([m.exited, sleep(100)]);
        out = {
          error: `ranks never all recorded their pids (${r ? `launcher exit ${r.code}: ${r.stderrTail.trim().split('\n').at(-1)}` : 'launcher running'})`,
        };
        return;
      }
      ctx.pids.push(...pids); // whatever survives is killed by pid afterwards
      let launcherExitAt = null;
      m.exited.then((r) => (launcherExitAt = r.exitAt));
      const t0 = nowMs();
      process.kill(m.pid, signal);
      const goneAt = await waitGone(pids, t0 + boundMs, 1);
      await Promise.race([m.exited, sleep(Math.max(0, t0 + boundMs - nowMs()))]);
      const orphans = goneAt === null ? pids.filter(isAlive).length : 0;
      out = {
        goneMs: goneAt === null ? null : goneAt - t0,
        launcherExitMs: launcherExitAt === null ? null : launcherExitAt - t0,
        orphans,
      };
    },
  });
  return out;
}
