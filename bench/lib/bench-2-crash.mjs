// 2. A rank exits with code 1 while the other sleeps: crash → launcher exited.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONTENDERS } from './contenders.mjs';
import { medianOf, row } from './result.mjs';
import { nowMs, sleep } from './proc.mjs';

const READY_TIMEOUT_MS = 30_000;

const TITLE = 'A rank exits with code 1 while the other sleeps: crash → launcher exited';
export const meta = { id: 2, title: TITLE, goal: '< 200 ms' };

export async function run(h, cfg) {
  const job = { nproc: 2, entry: 'bench/fixtures/crash.py' };
  const bounds = { ddprun: cfg.crashBoundMs, torchrun: cfg.crashBoundMs, floor: cfg.floorBoundMs };
  const values = { ddprun: [], torchrun: [], floor: [] };
  const notes = [];
  await h.alternate(cfg.reps, CONTENDERS, async (c, i) => {
    await h.run({
      bench: 2,
      variant: '2 ranks',
      contender: c,
      job,
      env: (ctx) => ({
        BENCH_STAMP: path.join(ctx.workDir, 'crash'),
        BENCH_CRASH_AFTER_S: '0.5',
        BENCH_SLEEP_S: '120',
      }),
      during: async (m, ctx) => {
        const stamp = path.join(ctx.workDir, 'crash');
        let exited;
        m.exited.then((r) => (exited = r));
        const deadline = nowMs() + READY_TIMEOUT_MS;
        while (!existsSync(stamp) && !exited && nowMs() < deadline) await sleep(5);
        if (!existsSync(stamp)) {
          notes.push(
            `${c} run ${i + 1}: rank 1 never crashed (launcher exit ${exited?.code ?? 'none'}: ${exited?.stderrTail.trim().split('\n').at(-1) ?? ''})`,
          );
          return;
        }
        const crashAt = Number(readFileSync(stamp, 'utf8')) / 1e6;
        const outcome = await Promise.race([
          m.exited,
          sleep(Math.max(0, crashAt + bounds[c] - nowMs())).then(() => undefined),
        ]);
        // Still running at the bound (the floor always is: nothing supervises its ranks) counts as "never".
        values[c].push(outcome && outcome.exitAt - crashAt <= bounds[c] ? outcome.exitAt - crashAt : null);
      },
    });
  });
  const rows = CONTENDERS.map((c) => row(c, '2 ranks', 'crash → exit', 'ms', values[c], bounds[c]));
  const d = medianOf(rows, 'ddprun', '2 ranks', 'crash → exit');
  const max = rows[0].summary?.max;
  return {
    ...meta,
    rows,
    notes: [
      ...notes,
      'Rank 1 sleeps 0.5 s, writes `time.monotonic_ns()` and calls `os._exit(1)`; rank 0 sleeps 120 s. The time is from that stamp to the launcher’s exit as seen by the bench (same monotonic clock).',
      `The floor has no supervision: its shell waits for the sleeper, so it is cut off at ${cfg.floorBoundMs} ms and counted as "never".`,
    ],
    goal: {
      met: d !== undefined && d < 200,
      text: `ddprun median ${d?.toFixed(0)} ms (max ${max?.toFixed(0)} ms); goal < 200 ms.`,
    },
  };
}
