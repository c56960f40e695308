// Last and best value of each metric of a run, from its stored `metric` events. No imports: the dashboard's page
// bundles this file too, so that `ddprun show` and the page agree on what "best" is.

/** The fields of a stored `metric` event this reads (see `MetricEvent`). */
export interface MetricPoint {
  name: string;
  value: number | null;
  step?: number;
  epoch?: number;
  rank: number;
  n?: number;
  min?: number | null;
  max?: number | null;
}

export interface MetricSummary {
  name: string;
  rank: number;
  /** Values logged (thinned events count every value they stand for). */
  count: number;
  last: { value: number | null; step?: number; epoch?: number };
  /** Lower or higher is better, by the name; undefined where neither is (learning rate, runtime, grad norm). */
  goal: 'min' | 'max' | undefined;
  /** The best value, and where the event that holds it was logged (a thinned event: its last step/epoch). */
  best?: { value: number; step?: number; epoch?: number };
}

/** Names of values that are settings or costs, not results: no best. */
const NO_GOAL =
  /(^|[/_.\s-])(lr|learning_?rate|lr-\w+)($|[/_.\s-])|runtime|per_second|grad_?norm|throughput|memory|time$/i;
const LOWER = /loss|err|perplexity|ppl|\bwer\b|\bcer\b|\bmae\b|\bmse\b|rmse|\bnll\b/i;
const HIGHER = /acc|f1|precision|recall|map|auc|bleu|rouge|iou|dice|score|top[15]|\br2\b/i;

/** Whether lower or higher values of a metric are better, from its name (undefined: neither, or cannot tell). */
export function metricGoal(name: string): 'min' | 'max' | undefined {
  if (NO_GOAL.test(name)) return undefined;
  if (LOWER.test(name)) return 'min';
  if (HIGHER.test(name)) return 'max';
  return undefined;
}

/** A value that counts as a number (NaN, ±Infinity and JSON's null for them do not). */
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One summary per metric and rank, in the order first logged. */
export function summarizeMetrics(points: Iterable<MetricPoint>): MetricSummary[] {
  const out = new Map<string, MetricSummary>();
  for (const p of points) {
    const key = `${p.rank}\u0000${p.name}`;
    let s = out.get(key);
    if (!s)
      out.set(key, (s = { name: p.name, rank: p.rank, count: 0, last: { value: null }, goal: metricGoal(p.name) }));
    s.count += p.n ?? 1;
    const where = { ...(p.step !== undefined && { step: p.step }), ...(p.epoch !== undefined && { epoch: p.epoch }) };
    s.last = { value: p.value, ...where };
    if (!s.goal) continue;
    const candidate = s.goal === 'min' ? (finite(p.min) ? p.min : p.value) : finite(p.max) ? p.max : p.value;
    if (!finite(candidate)) continue;
    if (!s.best || (s.goal === 'min' ? candidate < s.best.value : candidate > s.best.value))
      s.best = { value: candidate, ...where };
  }
  return [...out.values()];
}
