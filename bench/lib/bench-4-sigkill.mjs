// 4. SIGKILL to the launcher → every worker gone.
import { CONTENDERS } from './contenders.mjs';
import { medianOf, row } from './result.mjs';
import { signalRun } from './signal-run.mjs';

export const meta = { id: 4, title: 'SIGKILL to the launcher → every worker gone', goal: '< 1 s' };

export async function run(h, cfg) {
  const gone = { ddprun: [], torchrun: [], floor: [] };
  const orphans = { ddprun: 0, torchrun: 0, floor: 0 };
  const notes = [];
  await h.alternate(cfg.reps, CONTENDERS, async (c, i) => {
    const r = await signalRun(h, { bench: 4, contender: c, nproc: 2, signal: 'SIGKILL', boundMs: cfg.sigkillBoundMs });
    if (r.error) return notes.push(`${c} run ${i + 1}: ${r.error}`);
    gone[c].push(r.goneMs);
    orphans[c] += r.orphans;
  });
  const rows = CONTENDERS.map((c) =>
    row(c, '2 ranks', 'SIGKILL → every worker gone', 'ms', gone[c], cfg.sigkillBoundMs),
  );
  const d = medianOf(rows, 'ddprun', '2 ranks', 'SIGKILL → every worker gone');
  const max = rows[0].summary?.max;
  for (const c of CONTENDERS) {
    if (orphans[c])
      notes.push(
        `${c}: ${orphans[c]} orphaned worker(s) over ${cfg.reps} runs were still alive ${cfg.sigkillBoundMs} ms after the SIGKILL; the bench killed them by pid.`,
      );
  }
  return {
    ...meta,
    rows,
    notes: [...notes, 'SIGKILL goes to the launcher’s pid alone; workers are the cooperative sleepers of benchmark 3.'],
    goal: {
      met: max !== undefined && Number.isFinite(max) && max < 1000,
      text: `ddprun median ${d?.toFixed(0)} ms, max ${max?.toFixed(0)} ms, orphans ${orphans.ddprun}; goal < 1 s every run.`,
    },
  };
}
