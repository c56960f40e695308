import { parsePythonLiteral, type PyLiteral } from '../../python/literal-parse.js';

/** One value a script logged, before ddprun knows which rank or source it came from. */
export interface MetricSample {
  name: string;
  value: number;
  step?: number;
  epoch?: number;
}

/** A metric line is short: a longer one is not looked at (nor kept while it is unfinished). */
export const MAX_METRIC_LINE = 8192;
/** Longer names are not metrics (nor are empty ones). */
export const MAX_METRIC_NAME = 200;
/** Keys of a log dict that say where it is, not what was measured (`total_flos` is a counter nobody plots). */
const NOT_METRICS = new Set(['epoch', 'step', 'global_step', 'total_flos']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Whether a logged name is a metric (not empty, not too long, not a position such as `epoch`). */
export function isMetricName(name: string): boolean {
  return name !== '' && name.length <= MAX_METRIC_NAME && !NOT_METRICS.has(name);
}

/** A plain value of a parsed dict: numbers (ints, floats, numeric strings) and the rest as undefined. */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value);
  return undefined;
}

/** A Python dict literal with string keys as a plain object (other keys dropped); undefined for anything else. */
function plainDict(lit: PyLiteral): Record<string, unknown> | undefined {
  if (lit.type !== 'dict') return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of lit.entries) {
    if (k.type !== 'str') continue;
    if (v.type === 'int') out[k.value] = Number(v.value);
    else if (v.type === 'float' || v.type === 'str') out[k.value] = v.value;
    else if (v.type === 'dict') out[k.value] = plainDict(v);
  }
  return out;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  const lit = parsePythonLiteral(text, { floatWords: true });
  if (lit) return plainDict(lit);
  try {
    // JSON that is not also a Python literal (true, false, null inside).
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function samplesOf(values: Record<string, unknown>, where: { step?: number; epoch?: number }): MetricSample[] {
  const out: MetricSample[] = [];
  for (const [name, raw] of Object.entries(values)) {
    const value = numberOf(raw);
    if (value === undefined || !isMetricName(name)) continue;
    out.push({ name, value, ...where });
  }
  return out;
}

/**
 * The metrics of one output line, or undefined when it holds none. Two forms (docs/metrics.md):
 * - a log dict as Hugging Face's Trainer prints it, `{'loss': 0.12, 'learning_rate': 5e-05, 'epoch': 1.0}` (a Python
 *   dict repr, read by the literal parser, never evaluated; JSON too): it must say where it is, with `epoch` or
 *   `step`, so that a printed config is not taken for metrics;
 * - the JSON form for everything else: `{"metrics": {"loss": 0.12}, "step": 100, "epoch": 1}`.
 */
export function parseMetricLine(line: string): { form: 'dict' | 'json'; samples: MetricSample[] } | undefined {
  const text = line.trim();
  if (text.length > MAX_METRIC_LINE || !text.startsWith('{') || !text.endsWith('}')) return undefined;
  const values = parseObject(text);
  if (!values) return undefined;
  const step = numberOf(values.step) ?? numberOf(values.global_step);
  const epoch = numberOf(values.epoch);
  const where = { ...(step !== undefined && { step }), ...(epoch !== undefined && { epoch }) };
  const nested = values.metrics;
  if (nested && typeof nested === 'object' && !Array.isArray(nested)) {
    const samples = samplesOf(nested as Record<string, unknown>, where);
    return samples.length ? { form: 'json', samples } : undefined;
  }
  if (step === undefined && epoch === undefined) return undefined;
  const samples = samplesOf(values, where);
  return samples.length ? { form: 'dict', samples } : undefined;
}

/**
 * Finds metric lines in one stream, chunk by chunk, without splitting it into lines: a chunk without `{` costs one
 * forward scan (memchr); only a line that starts with `{` is cut out and parsed. `\r` ends a line too (tqdm.write
 * prints between redraws of a bar).
 */
export class MetricLineScanner {
  /** An unfinished line that starts with `{` (kept up to MAX_METRIC_LINE). */
  private partial = '';
  private atLineStart = true;

  constructor(private readonly onLine: (parsed: NonNullable<ReturnType<typeof parseMetricLine>>) => void) {}

  push(chunk: string): void {
    if (chunk === '') return;
    const text = this.partial + chunk;
    const startOk = this.partial !== '' || this.atLineStart;
    this.partial = '';
    this.atLineStart = chunk.endsWith('\n') || chunk.endsWith('\r');
    // Where the next `\r` is, found again only once passed (each search runs forward from the last: O(bytes)).
    let cr = -2;
    const lineEnd = (from: number): number => {
      if (cr !== -1 && cr < from) cr = text.indexOf('\r', from);
      const nl = text.indexOf('\n', from);
      if (nl === -1) return cr;
      return cr === -1 ? nl : Math.min(nl, cr);
    };
    let at = text.indexOf('{');
    while (at !== -1) {
      const lineStart = at === 0 ? startOk : text[at - 1] === '\n' || text[at - 1] === '\r';
      if (!lineStart) {
        at = text.indexOf('{', at + 1);
        continue;
      }
      const end = lineEnd(at);
      if (end === -1) {
        if (text.length - at <= MAX_METRIC_LINE) this.partial = text.slice(at);
        return;
      }
      if (end - at <= MAX_METRIC_LINE) {
        const parsed = parseMetricLine(text.slice(at, end));
        if (parsed) this.onLine(parsed);
      }
      at = text.indexOf('{', end);
    }
  }
}
