import type { MetricPoint, MetricSummary } from '../../progress/metrics/summary.js';
import { summarizeMetrics } from '../../progress/metrics/summary.js';
import type { StoredEvent } from '../../store/types.js';

/** Metric summaries shown per run (the rest are counted). */
const MAX_SHOWN = 40;

/** The last and best value of every metric the run logged (its `metric` events), for `show` and `show --json`. */
export function metricsOf(events: readonly StoredEvent[]): MetricSummary[] {
  return summarizeMetrics(events.filter((e) => e.event === 'metric') as unknown as MetricPoint[]);
}

function num(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'nan';
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

function where(p: { step?: number; epoch?: number }): string {
  const parts = [];
  if (p.epoch !== undefined) parts.push(`epoch ${num(p.epoch)}`);
  if (p.step !== undefined) parts.push(`step ${p.step}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** `metrics` block of `ddprun show`: one line per metric, its last value and its best. */
export function formatMetrics(summaries: readonly MetricSummary[]): string {
  if (summaries.length === 0) return '';
  const ranks = new Set(summaries.map((s) => s.rank)).size > 1;
  const label = (s: MetricSummary) => (ranks ? `${s.name} [rank ${s.rank}]` : s.name);
  const shown = summaries.slice(0, MAX_SHOWN);
  const width = Math.min(32, Math.max(...shown.map((s) => label(s).length)));
  const lines = shown.map((s) => {
    const best = s.best ? `   best ${num(s.best.value)}${where(s.best)}` : '';
    return `  ${label(s).padEnd(width)}  last ${num(s.last.value)}${where(s.last)}${best}`;
  });
  if (summaries.length > shown.length) lines.push(`  … and ${summaries.length - shown.length} more (--json lists all)`);
  return `metrics\n${lines.join('\n')}\n`;
}
