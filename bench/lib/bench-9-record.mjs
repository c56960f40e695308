// 9. What the run record costs: ddprun (recording, the default) against ddprun --no-record, from the runs of
// benchmarks 1 and 5 (both run the two, alternating with the other contenders).
import { NO_RECORD } from './contenders.mjs';
import { row } from './result.mjs';

export const meta = {
  id: 9,
  title: 'Run store on vs `--no-record` (benchmarks 1 and 5)',
  goal: 'no difference beyond noise (median ratio ≤ 1 + the runs’ spread, at least 1.05 ×)',
};

const SOURCES = [
  { bench: '1', metric: 'wall', unit: 'ms' },
  { bench: '5', metric: 'wall', unit: 'ms' },
  { bench: '5', metric: 'launcher CPU', unit: 's' },
];

/** Builds its table from the runs of benchmarks 1 and 5 (no runs of its own). */
export async function run(h) {
  const rows = [];
  const ratios = [];
  for (const { bench, metric, unit } of SOURCES) {
    const source = h.finished.get(bench);
    const on = source?.rows.find((r) => r.contender === 'ddprun' && r.metric === metric);
    const off = source?.rows.find((r) => r.contender === NO_RECORD && r.metric === metric);
    if (!on?.summary || !off?.summary) continue;
    const variant = `#${bench}: ${on.variant}`;
    rows.push(row('ddprun', variant, metric, unit, on.values), row(NO_RECORD, variant, metric, unit, off.values));
    // The noise: how far apart the --no-record runs themselves were (max − min over the median).
    const spread = (off.summary.max - off.summary.min) / off.summary.median;
    ratios.push({
      what: `#${bench} ${metric}`,
      median: on.summary.median / off.summary.median,
      best: on.summary.min / off.summary.min,
      bound: 1 + Math.max(0.05, spread),
    });
  }
  const met = ratios.length === SOURCES.length && ratios.every((r) => r.median <= r.bound);
  return {
    ...meta,
    rows,
    notes: [
      'Recording writes run.json, events.jsonl and each rank’s log under the run store (`DDPRUN_STATE_DIR`, one for the whole bench). A ratio above 1 is what recording costs; it counts as noise up to 1 + the spread of the `--no-record` runs themselves ((max − min) ÷ median), and never less than 1.05.',
    ],
    goal: {
      met,
      text: ratios.length
        ? `${ratios.map((r) => `${r.what}: ${r.median.toFixed(3)} × (best runs ${r.best.toFixed(3)} ×; noise bound ${r.bound.toFixed(2)} ×)`).join('; ')}.`
        : 'not measured: benchmarks 1 and 5 did not run (or had no successful runs of both).',
    },
  };
}
