// A line chart (uPlot) that fills its grid cell: resource samples by time, training metrics by step or epoch.
import uPlot from 'uplot';
import { h } from './dom.js';

export interface Series {
  label: string;
  points: Map<number, number | null>;
}

/**
 * What the x axis counts: seconds since the epoch (shown as local times), steps, epochs (ticks at whole ones), or
 * seconds since a run's first value (runs compared by time).
 */
export type XKind = 'time' | 'step' | 'epoch' | 'seconds';

export interface ChartData {
  x: XKind;
  series: Series[];
  /** The point to mark (the best value), on the first series. */
  mark?: { x: number; y: number };
  /** Log scale for y (values ≤ 0 are left out). */
  log?: boolean;
  /** Exponential moving average weight 0–0.99 (0: the values as logged); the raw line stays, faint. */
  smoothing?: number;
}

export interface Chart {
  el: HTMLElement;
  set(data: ChartData): void;
}

const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];
/** Whole-number tick steps: an epoch or step axis never shows 1.25. */
const WHOLE = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
const HEIGHT = 200;

/** TensorBoard's smoothing: an exponential moving average, debiased so that the first values are not pulled to 0. */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

/** A faint version of a colour, for the raw line under a smoothed one. */
const faint = (color: string): string => `${color}55`;

function options(
  d: ChartData,
  width: number,
  unit: (v: number) => string,
  ticks: (xs: number[]) => void,
): uPlot.Options {
  const raw = d.smoothing !== undefined && d.smoothing > 0;
  const lines = d.series.flatMap((s, i): uPlot.Series[] => {
    const color = PALETTE[i % PALETTE.length]!;
    const line = {
      label: s.label,
      stroke: color,
      width: 1.5,
      spanGaps: true,
      points: { show: s.points.size <= 60, size: 5 },
      value: (_u: uPlot, v: number | null) => (v === null ? '' : unit(v)),
    };
    return raw ? [{ ...line, label: `${s.label} (raw)`, stroke: faint(color), width: 1, show: true }, line] : [line];
  });
  const mark: uPlot.Series[] = d.mark
    ? [{ label: 'best', stroke: '#111', width: 0, points: { show: true, size: 11, fill: '#facc15', stroke: '#111' } }]
    : [];
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: d.x === 'time' }, y: d.log ? { distr: 3, log: 10 } : {} },
    legend: { live: false },
    axes: [
      d.x === 'time'
        ? { space: 80 }
        : {
            incrs: WHOLE,
            space: 70,
            label: d.x === 'seconds' ? 'seconds from the first value' : d.x,
            values: (_u, vals) => {
              ticks(vals);
              return vals.map((v) => (v === null ? '' : String(v)));
            },
          },
      { size: 64, values: (_u, vals) => vals.map((v) => (v === null ? '' : unit(v))) },
    ],
    series: [{ label: d.x }, ...lines, ...mark],
  };
}

/** uPlot's columns: the x values, then each series (raw then smoothed when smoothing), then the mark. */
function columns(d: ChartData): { data: uPlot.AlignedData; drawn: (number | null)[][] } {
  const x = [...new Set(d.series.flatMap((s) => [...s.points.keys()]))].sort((a, b) => a - b);
  const positive = (v: number | null | undefined): number | null =>
    v === undefined || v === null || (d.log && v <= 0) ? null : v;
  const drawn = d.series.map((s) =>
    smooth(
      x.map((t) => positive(s.points.get(t))),
      d.smoothing ?? 0,
    ),
  );
  const ys = d.series.flatMap((s, i) =>
    d.smoothing ? [x.map((t) => positive(s.points.get(t))), drawn[i]!] : [drawn[i]!],
  );
  if (d.mark) ys.push(x.map((t) => (t === d.mark!.x ? positive(d.mark!.y) : null)));
  return { data: [x, ...ys] as uPlot.AlignedData, drawn };
}

/**
 * A chart in its own box. The element carries what the browser tests read: `data-points` (x values),
 * `data-series` (each series' [x, value] pairs as logged), `data-drawn` (the first series as drawn: smoothed) and
 * `data-xticks` (the x axis' ticks of a step or epoch axis, as last drawn).
 */
export function chart(title: string, testid: string, unit: (v: number) => string): Chart {
  const heading = h('h3', {}, title);
  const el = h('div', { class: 'chart', 'data-testid': testid }, heading);
  let plot: uPlot | undefined;
  let shape = '';
  const width = (): number => Math.max(280, (el.clientWidth || 560) - 18);
  new ResizeObserver(() => {
    if (plot && Math.abs(plot.width - width()) > 4) plot.setSize({ width: width(), height: HEIGHT });
  }).observe(el);
  return {
    el,
    set(d) {
      const { data, drawn } = columns(d);
      el.dataset.points = String(data[0].length);
      el.dataset.series = JSON.stringify(d.series.map((s) => ({ label: s.label, points: [...s.points] })));
      el.dataset.drawn = JSON.stringify(drawn[0] ?? []);
      const key = JSON.stringify([d.x, d.series.map((s) => s.label), !!d.mark, !!d.log, !!d.smoothing]);
      if (plot && key === shape) return plot.setData(data);
      plot?.destroy();
      shape = key;
      plot = new uPlot(
        options(d, width(), unit, (xs) => (el.dataset.xticks = xs.join(','))),
        data,
        el,
      );
    },
  };
}

export const bytes = (v: number): string => (v >= 1e9 ? `${(v / 1e9).toFixed(1)} GB` : `${(v / 1e6).toFixed(0)} MB`);
export const pct = (v: number): string => `${v.toFixed(0)}%`;
export const num = (v: number): string =>
  v === 0
    ? '0'
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) < 1e-3
        ? v.toExponential(1)
        : String(+v.toPrecision(3));
