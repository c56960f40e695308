// The run page's training view: a chart per metric, grouped (losses, learning rate, evaluation, other), from the
// run's `metric` events and an Ultralytics run's `epoch` events, with smoothing and log-scale controls and the best
// value marked. The comparison page reads the same tracks.
import { metricGoal, summarizeMetrics, type MetricPoint } from '../src/progress/metrics/summary.js';
import { chart, num, type Chart, type XKind } from './charts.js';
import { h } from './dom.js';

type Json = Record<string, unknown>;

/** One logged value, with when ddprun read it (seconds since the epoch). */
export interface TrackPoint extends MetricPoint {
  t: number;
}

/** The values of one metric of one rank, in the order logged. */
export interface Track {
  key: string;
  name: string;
  points: TrackPoint[];
}

/** Columns of results.csv that are not metrics. */
const NOT_METRICS = new Set(['epoch', 'time']);

const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const optional = (k: string, v: unknown): Json => (typeof v === 'number' ? { [k]: v } : {});

/** Every metric of a run's events, by name (another rank's: `name (rank r)`), in the order first logged. */
export function metricTracks(events: readonly Json[]): Map<string, Track> {
  const tracks = new Map<string, Track>();
  const add = (p: TrackPoint): void => {
    const key = p.rank > 0 ? `${p.name} (rank ${p.rank})` : p.name;
    let track = tracks.get(key);
    if (!track) tracks.set(key, (track = { key, name: p.name, points: [] }));
    track.points.push(p);
  };
  for (const e of events) {
    const t = Date.parse(String(e.t ?? '')) / 1000;
    if (e.event === 'metric' && typeof e.name === 'string')
      add({
        name: e.name,
        value: numOrNull(e.value),
        rank: typeof e.rank === 'number' ? e.rank : 0,
        t,
        ...optional('step', e.step),
        ...optional('epoch', e.epoch),
        ...optional('n', e.n),
        ...optional('min', e.min),
        ...optional('max', e.max),
      });
    else if (e.event === 'epoch' && e.metrics && typeof e.metrics === 'object')
      for (const [name, value] of Object.entries(e.metrics as Json))
        if (!NOT_METRICS.has(name)) add({ name, value: numOrNull(value), rank: 0, t, ...optional('epoch', e.epoch) });
  }
  return tracks;
}

/** The x axis of a track: its steps when every value has one, else its epochs, else when it was read. */
export function xKindOf(points: readonly TrackPoint[]): XKind {
  if (points.every((p) => p.step !== undefined)) return 'step';
  if (points.every((p) => p.epoch !== undefined)) return 'epoch';
  return 'time';
}

export const xOf = (p: TrackPoint, kind: XKind): number =>
  kind === 'step' ? p.step! : kind === 'epoch' ? p.epoch! : Math.round(p.t);

export type Group = 'losses' | 'learning rate' | 'evaluation' | 'other';
export const GROUPS: readonly Group[] = ['losses', 'learning rate', 'evaluation', 'other'];

/** Which group a metric is charted in, from its name. */
export function groupOf(name: string): Group {
  if (/loss/i.test(name)) return 'losses';
  if (/(^|[/_.\s-])(lr|learning_?rate)($|[/_.\s-])|^lr-/i.test(name)) return 'learning rate';
  if (/(^|[/_.\s-])(eval|val|valid|validation|test|metrics)($|[/_.\s-])/i.test(name) || metricGoal(name) === 'max')
    return 'evaluation';
  return 'other';
}

/** A track's best value and where it is on the x axis (thinned events: their min or max), by the name's goal. */
export function bestOf(track: Track, kind: XKind): { x: number; y: number; where: string } | undefined {
  const summary = summarizeMetrics(track.points)[0];
  const best = summary?.best;
  if (!best) return undefined;
  const at = track.points.find((p) => [p.value, p.min, p.max].includes(best.value)) ?? track.points.at(-1)!;
  const where =
    best.epoch !== undefined ? `epoch ${num(best.epoch)}` : best.step !== undefined ? `step ${best.step}` : '';
  return { x: xOf(at, kind), y: best.value, where };
}

/** The training section of a run page: controls, then a group heading and a grid of charts per group. */
export function trainingView(): { el: HTMLElement; update: (events: readonly Json[]) => void } {
  const smoothing = h('input', {
    type: 'range',
    min: '0',
    max: '0.95',
    step: '0.05',
    value: '0',
    'aria-label': 'smoothing',
    'data-testid': 'smoothing',
  }) as HTMLInputElement;
  const smoothingValue = h('span', {}, '0');
  const log = h('input', {
    type: 'checkbox',
    'aria-label': 'log scale',
    'data-testid': 'log-scale',
  }) as HTMLInputElement;
  const groups = new Map(GROUPS.map((g) => [g, h('div', { class: 'chart-grid', 'data-group': g })]));
  const sections = new Map(
    GROUPS.map((g) => [g, h('section', { class: 'group', hidden: '' }, h('h3', {}, g), groups.get(g)!)]),
  );
  const el = h(
    'section',
    { class: 'training', 'data-testid': 'training', hidden: '' },
    h(
      'div',
      { class: 'tools' },
      h('h2', {}, 'training'),
      h('label', {}, 'smoothing ', smoothing, ' ', smoothingValue),
      h('label', {}, log, ' log scale'),
    ),
    ...sections.values(),
  );
  const charts = new Map<string, Chart>();
  let tracks = new Map<string, Track>();
  const draw = (): void => {
    smoothingValue.textContent = smoothing.value;
    for (const track of tracks.values()) drawTrack(track);
  };
  const drawTrack = (track: Track): void => {
    let c = charts.get(track.key);
    if (!c) {
      c = chart(track.key, 'metric', num);
      c.el.dataset.metric = track.key;
      charts.set(track.key, c);
      const group = groupOf(track.name);
      groups.get(group)!.append(c.el);
      sections.get(group)!.hidden = false;
    }
    const kind = xKindOf(track.points);
    const points = new Map(track.points.map((p) => [xOf(p, kind), p.value]));
    const best = bestOf(track, kind);
    const last = track.points.at(-1)!;
    c.el.querySelector('h3')!.textContent =
      `${track.key} · last ${last.value === null ? '–' : num(last.value)}` +
      (best ? ` · best ${num(best.y)}${best.where ? ` (${best.where})` : ''}` : '');
    c.set({
      x: kind,
      series: [{ label: track.key, points }],
      ...(best && { mark: { x: best.x, y: best.y } }),
      log: log.checked,
      smoothing: Number(smoothing.value),
    });
  };
  smoothing.addEventListener('input', draw);
  log.addEventListener('change', draw);
  return {
    el,
    update(events) {
      tracks = metricTracks(events);
      el.hidden = tracks.size === 0;
      draw();
    },
  };
}
