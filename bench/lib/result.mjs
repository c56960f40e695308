// The shape every benchmark returns, and the ratio of medians the tables show.
import { ratio, summarize } from './stats.mjs';

/** A table row: one contender (or variant) and its runs; null values mean "never within `bound`". */
export function row(contender, variant, metric, unit, values, bound) {
  return {
    contender,
    variant,
    metric,
    unit,
    values,
    bound,
    summary: summarize(values.filter((v) => v !== undefined && !Number.isNaN(v))),
  };
}

export function medianOf(rows, contender, variant, metric) {
  return rows.find((r) => r.contender === contender && r.variant === variant && r.metric === metric)?.summary?.median;
}

/** The best run: less affected than the median by other load on a shared machine. */
export function minOf(rows, contender, variant, metric) {
  return rows.find((r) => r.contender === contender && r.variant === variant && r.metric === metric)?.summary?.min;
}

/** ddprun's median ÷ torchrun's and ÷ the floor's, per variant and metric present in the rows. */
export function ratiosOf(rows) {
  const seen = new Set();
  const out = [];
  for (const r of rows) {
    const key = `${r.variant}|${r.metric}`;
    if (seen.has(key) || r.contender !== 'ddprun') continue;
    seen.add(key);
    const d = r.summary?.median;
    out.push({
      variant: r.variant,
      metric: r.metric,
      torchrun: ratio(d, medianOf(rows, 'torchrun', r.variant, r.metric)),
      floor: ratio(d, medianOf(rows, 'floor', r.variant, r.metric)),
    });
  }
  return out;
}

/** Runs that failed are reported, not measured. */
export function failureNote(contender, i, measured) {
  const tail = measured.stderrTail.trim().split('\n').slice(-2).join(' | ');
  return `${contender} run ${i + 1} failed (exit ${measured.code ?? measured.signal}): ${tail}`;
}

/** What the run record costs: ddprun (recording, the default) against ddprun --no-record, medians and best runs. */
export function recordingNote(rows, variant, metric, unit) {
  const on = rows.find((r) => r.contender === 'ddprun' && r.variant === variant && r.metric === metric)?.summary;
  const off = rows.find(
    (r) => r.contender === 'ddprun --no-record' && r.variant === variant && r.metric === metric,
  )?.summary;
  if (!on || !off) return `Recording cost (${metric}): not measured (a contender has no successful run).`;
  const fmt = (n) => (unit === 's' ? n.toFixed(2) : n.toFixed(0));
  return (
    `Recording cost (${metric}): ddprun (recording the run: run.json, events.jsonl, each rank's log) median ${fmt(on.median)} ${unit} ` +
    `vs \`--no-record\` ${fmt(off.median)} ${unit}: ${(on.median / off.median).toFixed(3)} ×; best runs ${fmt(on.min)} vs ${fmt(off.min)} ${unit} (${(on.min / off.min).toFixed(3)} ×).`
  );
}
