// Overall progress of a run (epoch n/N of an Ultralytics run, else the progress bar rank 0 draws) and its ETA, for
// the runs page's column and the run page's header.
import { duration, h } from './dom.js';

type Json = Record<string, unknown>;

export interface Overall {
  /** `epoch 11/300`, `train 120/400 it`. */
  label: string;
  /** 0–1. */
  fraction: number;
  /** The bar inside the current epoch, when there is one: `epoch 12: 6%`. */
  inner?: { label: string; fraction: number };
  /** Seconds left, when they can be told. */
  eta?: number;
}

const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * From a run's latest `epoch` and `progress` events (and, for the ETA, when its first epoch event of the attempt
 * came and when the run started). A progress bar seen before the latest epoch ended is not the current epoch's.
 */
export function overallOf(
  run: Json,
  latest: { epoch?: Json; progress?: Json; firstEpoch?: Json },
): Overall | undefined {
  const { epoch, progress } = latest;
  const bar = progress && n(progress.total) && n(progress.n) !== undefined ? progress : undefined;
  const current = bar && (!epoch || String(bar.t ?? '') > String(epoch.t ?? '')) ? bar : undefined;
  const innerOf = (label: string): Overall['inner'] =>
    current ? { label, fraction: Math.min(1, n(current.n)! / n(current.total)!) } : undefined;
  if (epoch && n(epoch.epoch) && n(epoch.epochs)) {
    const done = n(epoch.epoch)!;
    const total = n(epoch.epochs)!;
    const inner = innerOf(`epoch ${Math.min(done + 1, total)}: ${pctOf(current)}`);
    return {
      label: `epoch ${done}/${total}`,
      fraction: Math.min(1, done / total),
      ...(inner && done < total && { inner }),
      ...etaOf(run, done, total, latest.firstEpoch, epoch),
    };
  }
  if (!bar) return undefined;
  const unit = typeof bar.unit === 'string' && bar.unit !== 'it' ? ` ${bar.unit}` : '';
  const desc = typeof bar.desc === 'string' && bar.desc ? `${bar.desc.replace(/[:\s]+$/, '')} ` : 'step ';
  return {
    label: `${desc}${n(bar.n)}/${n(bar.total)}${unit}`,
    fraction: Math.min(1, n(bar.n)! / n(bar.total)!),
    ...(n(bar.remaining) !== undefined && { eta: n(bar.remaining)! }),
  };
}

const pctOf = (bar: Json | undefined): string => (bar ? `${Math.floor((100 * n(bar.n)!) / n(bar.total)!)}%` : '');

/** Seconds per epoch from the epochs seen (else from the start), times the epochs left. */
function etaOf(run: Json, done: number, total: number, first: Json | undefined, last: Json): { eta?: number } {
  if (done >= total || run.status !== 'running') return {};
  const t1 = Date.parse(String(last.t ?? ''));
  const t0 = Date.parse(String(first?.t ?? ''));
  const e0 = n(first?.epoch);
  if (Number.isFinite(t0) && e0 !== undefined && done > e0)
    return { eta: ((t1 - t0) / 1000 / (done - e0)) * (total - done) };
  const start = Date.parse(String(run.startedAt ?? ''));
  return Number.isFinite(start) && done > 0 ? { eta: ((t1 - start) / 1000 / done) * (total - done) } : {};
}

/** A labelled bar: `[=====     ] epoch 11/300 · epoch 12: 6% · ETA 2h05m`. */
export function progressEl(o: Overall | undefined): HTMLElement {
  if (!o) return h('span', { class: 'progress' });
  const bar = h('progress', { max: '1', value: String(o.fraction), 'aria-label': o.label });
  return h(
    'span',
    { class: 'progress', 'data-testid': 'progress' },
    bar,
    h('span', { class: 'overall' }, o.label),
    o.inner ? h('span', { class: 'inner', 'data-testid': 'inner-progress' }, ` · ${o.inner.label}`) : null,
    o.eta !== undefined ? h('span', { class: 'eta', 'data-testid': 'eta' }, ` · ETA ${duration(o.eta)}`) : null,
  );
}
