import type { MetricEvent, MetricSource } from '../../model/types.js';
import type { MetricSample } from './line.js';

/** Distinct metrics (name and rank) a run records; more are ignored (a script naming one per step is not bounded). */
export const MAX_SERIES = 200;
/**
 * How the store's volume is bounded, per metric: its first THIN_AFTER values are kept as logged; then at most one
 * event per THIN_MS (standing for every value in between: the last, with their count, min and max); past
 * SPARSE_AFTER events, one per SPARSE_MS. A metric logged every step of a 10-hour run is about 3,700 events; one
 * logged per epoch is never thinned.
 */
export const THIN_AFTER = 500;
export const THIN_MS = 2_000;
export const SPARSE_AFTER = 2_000;
export const SPARSE_MS = 20_000;
/** How often held-back values are looked at. */
const TICK_MS = 1_000;

interface Pending {
  sample: MetricSample;
  n: number;
  min: number;
  max: number;
}

interface SeriesState {
  rank: number;
  source: MetricSource;
  emitted: number;
  lastAt: number;
  pending: Pending | undefined;
}

/** Which conventions compete: the first that gives a metric is the run's; the JSON form always counts. */
const CONVENTIONS: readonly MetricSource[] = ['dict', 'csv', 'tensorboard'];

/**
 * Turns samples from every source into `metric` events, with the volume bound above. Scripts often log the same
 * metrics two ways (Hugging Face prints its log dicts and writes TensorBoard files; Lightning can keep a CSV and a
 * TensorBoard log): the first convention heard from is the run's, and the others are ignored, so that no metric is
 * charted twice under two names.
 */
export class MetricHub {
  private readonly series = new Map<string, SeriesState>();
  private convention: MetricSource | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (event: MetricEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The convention whose metrics are recorded (undefined until one gave a metric). */
  get source(): MetricSource | undefined {
    return this.convention;
  }

  add(source: MetricSource, rank: number, samples: readonly MetricSample[]): void {
    if (samples.length === 0) return;
    if (CONVENTIONS.includes(source)) {
      this.convention ??= source;
      if (this.convention !== source) return;
    }
    for (const sample of samples) this.addOne(source, rank, sample);
  }

  private addOne(source: MetricSource, rank: number, sample: MetricSample): void {
    const key = `${rank}\u0000${sample.name}`;
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES) return;
      this.series.set(key, (s = { rank, source, emitted: 0, lastAt: -Infinity, pending: undefined }));
    }
    s.source = source;
    const p = s.pending;
    if (p) {
      p.sample = sample;
      p.n++;
      p.min = Math.min(p.min, sample.value);
      p.max = Math.max(p.max, sample.value);
    } else s.pending = { sample, n: 1, min: sample.value, max: sample.value };
    if (this.due(s)) this.send(s);
    else this.arm();
  }

  private due(s: SeriesState): boolean {
    const gap = s.emitted < THIN_AFTER ? 0 : s.emitted < SPARSE_AFTER ? THIN_MS : SPARSE_MS;
    return this.now() - s.lastAt >= gap;
  }

  private send(s: SeriesState): void {
    const p = s.pending!;
    s.pending = undefined;
    s.emitted++;
    s.lastAt = this.now();
    const { name, value, step, epoch } = p.sample;
    this.emit({
      name,
      value,
      ...(step !== undefined && { step }),
      ...(epoch !== undefined && { epoch }),
      rank: s.rank,
      source: s.source,
      t: new Date(s.lastAt).toISOString(),
      ...(p.n > 1 && { n: p.n, min: p.min, max: p.max }),
    });
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flushDue(false), TICK_MS);
    this.timer.unref();
  }

  private flushDue(all: boolean): void {
    let waiting = false;
    for (const s of this.series.values()) {
      if (!s.pending) continue;
      if (all || this.due(s)) this.send(s);
      else waiting = true;
    }
    if (!waiting) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends every held-back value (the run ended); safe to call more than once. */
  flush(): void {
    this.flushDue(true);
    this.stopTimer();
  }
}
