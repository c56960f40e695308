// Summaries of repeated measurements. `null` means "never happened within the bound" and sorts as +Infinity.

/** min / median / max of the runs; undefined when there are none. */
export function summarize(values) {
  const sorted = values.map((v) => (v === null || v === undefined ? Infinity : v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return undefined;
  const mid = Math.floor(n / 2);
  const median = n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { n, min: sorted[0], median, max: sorted[n - 1] };
}

/** a ÷ b, or undefined when either is missing or infinite. */
export function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** A measured value for a table cell: fixed digits by magnitude, "never (> bound)" for Infinity. */
export function formatValue(value, bound) {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return bound === undefined ? 'never' : `never (> ${formatValue(bound)})`;
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function formatRatio(r) {
  if (r === undefined) return '—';
  return `${r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}
