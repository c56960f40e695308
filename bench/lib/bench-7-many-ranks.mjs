// 7. Many ranks of a trivial non-Python worker (/bin/true): start → all exited, and how it grows.
import { CONTENDERS } from './contenders.mjs';
import { timelineProfile } from './profile.mjs';
import { failureNote, medianOf, minOf, row } from './result.mjs';

export const meta = {
  id: 7,
  title: 'Many ranks of a trivial non-Python worker (`/bin/true`): start → all exited',
  goal: 'grows linearly; ≤ 2 × floor',
};

export async function run(h, cfg) {
  const [small, large] = cfg.ranks;
  const values = {};
  const notes = [];
  const variant = (n) => `${n} ranks`;
  for (const n of cfg.ranks) for (const c of CONTENDERS) values[`${n}|${c}`] = [];
  for (const n of cfg.ranks) {
    const job = { nproc: n, entry: '/bin/true', noPython: true };
    await h.alternate(cfg.reps, CONTENDERS, async (c, i) => {
      const { measured } = await h.run({ bench: 7, variant: variant(n), contender: c, job });
      if (measured.code === 0) values[`${n}|${c}`].push(measured.wallMs);
      else notes.push(failureNote(c, i, measured));
    });
  }
  const rows = cfg.ranks.flatMap((n) =>
    CONTENDERS.map((c) => row(c, variant(n), 'start → all exited', 'ms', values[`${n}|${c}`])),
  );
  const med = (c, n) => medianOf(rows, c, variant(n), 'start → all exited');
  const best = (c, n) => minOf(rows, c, variant(n), 'start → all exited');
  // Growth is judged on the best runs: medians of 100-ms jobs swing with other load on a shared machine.
  const growth = {};
  for (const c of CONTENDERS) {
    const a = best(c, small);
    const b = best(c, large);
    growth[c] = { perRankMs: (b - a) / (large - small), factor: b / a };
    notes.push(
      `${c} (best runs): ${(large / small).toFixed(0)}× the ranks took ${(b / a).toFixed(2)}× the time; marginal cost ${((b - a) / (large - small)).toFixed(2)} ms per extra rank.`,
    );
  }
  const linear = growth.ddprun.factor <= (large / small) * 1.1;
  const within = cfg.ranks.map((n) => ({ n, r: med('ddprun', n) / med('floor', n) }));
  const met = linear && within.every((w) => w.r <= 2);
  const marginal = growth.ddprun.perRankMs / growth.floor.perRankMs;
  return {
    ...meta,
    rows,
    notes: [...notes, `Marginal cost per rank (best runs), ddprun : floor = ${marginal.toFixed(2)}×.`],
    goal: {
      met,
      text: `growth ${linear ? 'linear or better' : 'worse than linear'} (best runs: ×${growth.ddprun.factor.toFixed(2)} for ×${(large / small).toFixed(0)} ranks); ddprun : floor (medians) = ${within.map((w) => `${w.r.toFixed(2)}× at ${w.n}`).join(', ')}; goal ≤ 2 ×.`,
    },
    profile: await timelineProfile(h, {
      bench: 7,
      job: { nproc: large, entry: '/bin/true', noPython: true },
      floorMs: med('floor', large),
      label: `${large}-rank /bin/true launch`,
    }),
  };
}
