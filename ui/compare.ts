// Comparing runs: one metric of several runs overlaid in one chart (the common case: two learning rates).
import { chart, num, type Series } from './charts.js';
import { h } from './dom.js';
import { metricTracks, xKindOf, xOf, type Track } from './training.js';

type Json = Record<string, unknown>;

interface Loaded {
  id: string;
  label: string;
  tracks: Map<string, Track>;
}

/** The metric shown first: a loss every run logged, else any metric every run logged, else the first one seen. */
function firstChoice(runs: readonly Loaded[], names: readonly string[]): string | undefined {
  const common = names.filter((n) => runs.every((r) => r.tracks.has(n)));
  return common.find((n) => /loss/i.test(n)) ?? common[0] ?? names[0];
}

async function load(id: string): Promise<Loaded | undefined> {
  const res = await fetch(`/api/runs/${encodeURIComponent(id)}`);
  if (!res.ok) return undefined;
  const { run, events } = (await res.json()) as { run: Json; events: Json[] };
  const label = typeof run.name === 'string' && run.name ? `${run.name} (${id})` : id;
  return { id, label, tracks: metricTracks(events) };
}

/** The page `#/compare/<id>,<id>…`: a metric picker and the chosen metric of every run on one chart. */
export function comparePage(app: HTMLElement, ids: readonly string[]): () => void {
  const picker = h('select', { 'aria-label': 'metric', 'data-testid': 'compare-metric' }) as HTMLSelectElement;
  const log = h('input', {
    type: 'checkbox',
    'aria-label': 'log scale',
    'data-testid': 'log-scale',
  }) as HTMLInputElement;
  const note = h('p', { class: 'note', 'data-testid': 'compare-note' });
  const c = chart('', 'compare-chart', num);
  c.el.classList.add('wide');
  app.replaceChildren(
    h('header', {}, h('a', { href: '#/' }, '← runs'), h('h1', {}, `compare ${ids.length} runs`)),
    h('div', { class: 'tools' }, h('label', {}, 'metric ', picker), h('label', {}, log, ' log scale')),
    note,
    c.el,
  );
  let runs: Loaded[] = [];
  const draw = (): void => {
    const name = picker.value;
    const have = runs.filter((r) => r.tracks.has(name));
    const missing = runs.filter((r) => !r.tracks.has(name)).map((r) => r.label);
    note.textContent = missing.length ? `not logged by ${missing.join(', ')}` : '';
    const all = have.flatMap((r) => r.tracks.get(name)!.points);
    if (!all.length) return;
    const kind = xKindOf(all);
    // Runs read at different times are compared from each one's first value.
    const series: Series[] = have.map((r) => {
      const points = r.tracks.get(name)!.points;
      const t0 = kind === 'time' ? Math.round(points[0]!.t) : 0;
      return { label: r.label, points: new Map(points.map((p) => [xOf(p, kind) - t0, p.value])) };
    });
    const x = kind === 'time' ? 'seconds' : kind;
    c.el.querySelector('h3')!.textContent = `${name} by ${x}`;
    c.set({ x, series, log: log.checked });
  };
  picker.addEventListener('change', draw);
  log.addEventListener('change', draw);
  void Promise.all(ids.map(load)).then((loaded) => {
    runs = loaded.filter((r): r is Loaded => r !== undefined);
    const names = [...new Set(runs.flatMap((r) => [...r.tracks.keys()]))];
    picker.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
    const first = firstChoice(runs, names);
    if (first === undefined) note.textContent = 'these runs logged no metrics';
    else picker.value = first;
    draw();
  });
  return () => undefined;
}
