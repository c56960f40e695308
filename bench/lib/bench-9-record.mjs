// 9. What the run record costs: ddprun (recording, the default) against ddprun --no-record, from the runs of
// benchmarks 1 and 5 (both run the two, alternating with the other contenders).
import { NO_RECORD } from './contenders.mjs';
import { row } from './result.mjs';

export const meta = {
  id: 9,
  title: 'Run store on vs `--no-record` (benchmarks 1 and 5)',
  goal: 'no difference beyond noise (≤ 1.05 ×, medians and best runs)',
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
    ratios.push({
      what: `#${bench} ${metric}`,
      median: on.summary.median / off.summary.median,
      best: on.summary.min / off.summary.min,
    });
  }
  const met = ratios.length === SOURCES.length && ratios.every((r) => r.median <= 1.05 && r.best <= 1.05);
  return {
    ...meta,
    rows,
    notes: [
      'Recording writes run.json, events.jsonl and each rank’s log under the run store (`DDPRUN_STATE_DIR`, one for the whole bench). Ratios above 1 are what recording costs; 1.05 × is about the run-to-run spread of these jobs on this machine.',
    ],
    goal: {
      met,
      text: ratios.length
        ? `${ratios.map((r) => `${r.what}: ${r.median.toFixed(3)} × (best runs ${r.best.toFixed(3)} ×)`).join('; ')}; goal ≤ 1.05 ×.`
        : 'not measured: benchmarks 1 and 5 did not run (or had no successful runs of both).',
    },
  };
}
