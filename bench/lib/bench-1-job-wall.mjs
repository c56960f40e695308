// 1. Whole-job wall time: 2 ranks, gloo init + one all-reduce + exit.
import { CONTENDERS } from './contenders.mjs';
import { failureNote, medianOf, row } from './result.mjs';
import { timelineProfile } from './profile.mjs';

export const meta = { id: 1, title: 'Whole-job wall time: 2 ranks, gloo init + one all-reduce + exit', goal: '≤ 1.05 × floor' };

export async function run(h, cfg) {
  const job = { nproc: 2, entry: 'bench/fixtures/allreduce.py' };
  const values = { ddprun: [], torchrun: [], floor: [] };
  const notes = [];
  await h.alternate(cfg.reps, CONTENDERS, async (c, i) => {
    const { measured } = await h.run({ bench: 1, variant: '2 ranks', contender: c, job });
    if (measured.code === 0) values[c].push(measured.wallMs);
    else notes.push(failureNote(c, i, measured));
  });
  const rows = CONTENDERS.map((c) => row(c, '2 ranks', 'wall', 'ms', values[c]));
  const d = medianOf(rows, 'ddprun', '2 ranks', 'wall');
  const f = medianOf(rows, 'floor', '2 ranks', 'wall');
  const met = d !== undefined && f !== undefined && d <= 1.05 * f;
  const budget = f === undefined ? undefined : 0.05 * f;
  return {
    ...meta,
    rows,
    notes,
    goal: {
      met,
      text: `ddprun median ${d?.toFixed(0)} ms vs floor ${f?.toFixed(0)} ms: ${(d / f).toFixed(3)} × floor (goal ≤ 1.05, i.e. at most ${budget?.toFixed(0)} ms over the floor; ddprun is ${Math.abs(d - f).toFixed(0)} ms ${d >= f ? 'over' : 'under'} it).`,
    },
    profile: await timelineProfile(h, { bench: 1, job, floorMs: f, label: '2-rank all-reduce job' }),
  };
}
