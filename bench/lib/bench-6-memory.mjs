// 6. Launcher peak memory: VmHWM of the launcher process alone, sampled from /proc during benchmarks 1, 5 and 7.
import { CONTENDERS } from './contenders.mjs';
import { row } from './result.mjs';

export const meta = {
  id: 6,
  title: 'Launcher peak memory (VmHWM of the launcher process alone)',
  goal: '≤ 60 MB with store, sampling and progress on',
};

/** Builds its table from the runs of the other benchmarks (no runs of its own). */
export async function run(h) {
  const rows = [];
  const variants = new Map();
  for (const key of h.rss.keys()) {
    const [bench, variant, contender] = key.split('|');
    if (!['1', '5', '7'].includes(bench) || variant === 'profile' || !CONTENDERS.includes(contender)) continue;
    variants.set(`${bench}|${variant}`, { bench, variant });
  }
  for (const { bench, variant } of variants.values()) {
    for (const c of CONTENDERS) {
      const values = h.rss.get(`${bench}|${variant}|${c}`) ?? [];
      if (values.length) rows.push(row(c, `#${bench}: ${variant}`, 'peak RSS', 'MB', values));
    }
  }
  const ddprunMax = Math.max(...rows.filter((r) => r.contender === 'ddprun').map((r) => r.summary?.max ?? 0));
  return {
    ...meta,
    rows,
    notes: [
      'VmHWM from /proc/<pid>/status of the launcher process only (not its ranks), sampled every 10 ms until it exits. For ddprun that is the `node` process (its watchdog `sh` is < 2 MB and not counted); for torchrun the Python agent; for the floor the `sh`.',
    ],
    goal: {
      met: rows.length > 0 && ddprunMax <= 60,
      text: `ddprun's highest peak over every run: ${ddprunMax.toFixed(1)} MB; goal ≤ 60 MB.`,
    },
  };
}
