// The dashboard's page. Everything a run printed or recorded is untrusted: it reaches the DOM only as text
// (textContent, never innerHTML), and the server's CSP allows no inline script besides.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './app.css';

type Json = Record<string, unknown>;
interface StoreEvent extends Json {
  event: string;
  t?: string;
}
interface Summary {
  id: string;
  status: string;
  run: Json;
  epoch?: StoreEvent;
  progress?: StoreEvent;
}
interface LogLine {
  rank: number;
  stream: string;
  attempt: number;
  text: string;
}

/** Lines kept per view; older ones are fetched on request. */
const MAX_LINES = 10_000;

const app = document.getElementById('app')!;
let csrf = '';
let closeView: () => void = () => undefined;

type Child = Node | string | number | undefined | null | false;
function h(tag: string, props: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) el.setAttribute(k, v);
  for (const c of children)
    if (c !== undefined && c !== null && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
/** A console line as a person saw it: colours stripped, a `\r`-updated bar collapsed to its last state. */
export function cleanLine(text: string): string {
  let t = text.replace(ANSI, '');
  if (t.includes('\r')) {
    const parts = t.split('\r').filter((p) => p !== '');
    t = parts.at(-1) ?? '';
  }
  return t; // the server already cut lines over 10,000 characters, with a marker
}

function elapsed(run: Json): string {
  const start = Date.parse(String(run.startedAt ?? ''));
  if (!Number.isFinite(start)) return '';
  const end = run.endedAt ? Date.parse(String(run.endedAt)) : Date.now();
  const s = Math.max(0, Math.round((end - start) / 1000));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

function commandOf(run: Json): string {
  const argv = run.argv;
  return Array.isArray(argv) ? argv.map(String).join(' ') : '';
}

function ranksOf(run: Json): string {
  const o = (run.options ?? {}) as Json;
  const n = run.worldSize ?? run.ranks ?? o.nprocPerNode;
  return n === undefined ? '' : String(n);
}

function rootCauseOf(run: Json): Json | undefined {
  return (run.rootCause as Json | undefined) ?? undefined;
}

function explanationText(run: Json): string {
  const rc = rootCauseOf(run);
  if (!rc) return '';
  const ex = rc.explanation as Json | undefined;
  return ex ? `${String(ex.kind)}: ${String(ex.message ?? '')}` : String(rc.message ?? '');
}

function progressText(s: Summary): string {
  if (s.epoch) return `epoch ${String(s.epoch.epoch)}/${String(s.epoch.epochs ?? '?')}`;
  const p = s.progress;
  if (p && typeof p.n === 'number' && typeof p.total === 'number' && p.total > 0)
    return `${Math.floor((100 * p.n) / p.total)}%`;
  return '';
}

/** A preempted run: the signal and who sent it (`result.preempted`). */
function preemptionRows(run: Json): [string, string][] {
  const preempted = (run.result as Json | undefined)?.preempted as Json | undefined;
  return preempted ? [['preempted', `${String(preempted.signal)} from ${String(preempted.sender)}`]] : [];
}

const badge = (status: string): HTMLElement => h('span', { class: `badge ${status}`, 'data-testid': 'status' }, status);

// ---------------------------------------------------------------------------------------------------- runs

function runsPage(): void {
  const filter = h('select', { 'aria-label': 'status filter', 'data-testid': 'filter' }) as HTMLSelectElement;
  for (const s of ['all', 'running', 'succeeded', 'failed', 'stopped', 'preempted', 'lost'])
    filter.append(h('option', { value: s }, s));
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'runs', 'data-testid': 'runs' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['run', 'status', 'ranks', 'progress', 'elapsed', 'exit', 'explanation', 'command'].map((c) =>
          h('th', {}, c),
        ),
      ),
    ),
    body,
  );
  app.replaceChildren(h('header', {}, h('h1', {}, 'ddprun'), h('label', {}, 'status ', filter)), table);
  let runs: Summary[] = [];
  const render = (): void => {
    const rows = runs
      .filter((r) => filter.value === 'all' || r.status === filter.value)
      .map((r) =>
        h(
          'tr',
          { 'data-run': r.id },
          h('td', {}, h('a', { href: `#/run/${encodeURIComponent(r.id)}` }, r.id)),
          h('td', {}, badge(r.status)),
          h('td', {}, ranksOf(r.run)),
          h('td', {}, progressText(r)),
          h('td', {}, elapsed(r.run)),
          h('td', {}, r.run.exitCode === undefined || r.run.exitCode === null ? '' : String(r.run.exitCode)),
          h('td', { class: 'why' }, explanationText(r.run)),
          h('td', { class: 'cmd' }, commandOf(r.run)),
        ),
      );
    body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '8', class: 'empty' }, 'no runs'))]));
  };
  filter.addEventListener('change', render);
  const source = new EventSource('/api/stream');
  source.addEventListener('runs', (e) => {
    runs = JSON.parse((e as MessageEvent<string>).data) as Summary[];
    render();
  });
  const tick = setInterval(render, 1000); // elapsed of live runs
  closeView = () => {
    source.close();
    clearInterval(tick);
  };
}

// ---------------------------------------------------------------------------------------------------- charts

interface Series {
  label: string;
  points: Map<number, number>;
}

function chart(
  title: string,
  testid: string,
  unit: (v: number) => string,
): { el: HTMLElement; set: (x: number[], series: Series[], mark?: number) => void } {
  const el = h('div', { class: 'chart', 'data-testid': testid }, h('h3', {}, title));
  let plot: uPlot | undefined;
  let shape = '';
  return {
    el,
    set(x, series, mark) {
      el.dataset.points = String(x.length); // what the browser tests count
      const data: uPlot.AlignedData = [x, ...series.map((s) => x.map((t) => s.points.get(t) ?? null))];
      if (mark !== undefined) data.push(x.map((t) => (t === mark ? (series[0]?.points.get(t) ?? null) : null)));
      const key = series.map((s) => s.label).join('\u0000') + (mark !== undefined ? '+mark' : '');
      if (plot && key === shape) return plot.setData(data);
      plot?.destroy();
      shape = key;
      const palette = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];
      plot = new uPlot(
        {
          width: Math.max(300, Math.min(560, el.clientWidth || 520)),
          height: 180,
          scales: { x: { time: x.length > 0 && x[0]! > 1e9 } },
          legend: { live: false },
          axes: [{}, { size: 64, values: (_u, vals) => vals.map((v) => (v === null ? '' : unit(v))) }],
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              stroke: palette[i % palette.length],
              width: 1.5,
              value: (_u: uPlot, v: number | null) => (v === null ? '' : unit(v)),
            })),
            ...(mark !== undefined
              ? [{ label: 'best', stroke: '#111', width: 0, points: { show: true, size: 10, fill: '#facc15' } }]
              : []),
          ],
        },
        data,
        el,
      );
    },
  };
}

const bytes = (v: number): string => (v >= 1e9 ? `${(v / 1e9).toFixed(1)} GB` : `${(v / 1e6).toFixed(0)} MB`);
const pct = (v: number): string => `${v.toFixed(0)}%`;
const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

/** The metric a person watches for each Ultralytics task, by its results.csv column. */
const KEY_METRICS = ['metrics/mAP50-95(B)', 'metrics/mAP50-95(M)', 'metrics/mAP50-95(P)', 'metrics/accuracy_top1'];

// ---------------------------------------------------------------------------------------------------- run

function runPage(id: string): void {
  const title = h('h1', {}, id);
  const status = h('span', {});
  const meta = h('div', { class: 'meta' });
  const stopBox = h('div', { class: 'stop' });
  const cause = h('section', { class: 'cause', 'data-testid': 'root-cause', hidden: '' });
  const ranksBody = h('tbody');
  const ranksTable = h(
    'table',
    { class: 'ranks', 'data-testid': 'ranks' },
    h(
      'thead',
      {},
      h('tr', {}, ...['rank', 'status', 'pid', 'exit', 'CPU', 'RSS', 'GPU mem', 'restarts'].map((c) => h('th', {}, c))),
    ),
    ranksBody,
  );
  const timeline = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
  const hang = h('section', { class: 'hang', 'data-testid': 'hang', hidden: '' });
  const cpu = chart('CPU per rank', 'cpu-chart', pct);
  const rss = chart('RSS per rank', 'rss-chart', bytes);
  const gpu = chart('GPU memory per rank', 'gpu-chart', bytes);
  gpu.el.hidden = true;
  const loss = chart('losses by epoch', 'loss-chart', num);
  const metric = chart('key metric by epoch (● best)', 'metric-chart', num);
  const training = h('section', { class: 'charts', 'data-testid': 'training', hidden: '' }, loss.el, metric.el);
  const rankSelect = h(
    'select',
    { 'aria-label': 'rank', 'data-testid': 'rank-select' },
    h('option', { value: 'all' }, 'all ranks'),
  ) as HTMLSelectElement;
  const search = h('input', {
    type: 'search',
    placeholder: 'search the log',
    'aria-label': 'search',
    'data-testid': 'search',
  }) as HTMLInputElement;
  const jump = h('button', { type: 'button', 'data-testid': 'jump' }, 'jump to root cause') as HTMLButtonElement;
  const older = h('button', { type: 'button', 'data-testid': 'older' }, 'load older lines') as HTMLButtonElement;
  const logEl = h('div', { class: 'log', 'data-testid': 'log', role: 'log' });
  app.replaceChildren(
    h('header', {}, h('a', { href: '#/' }, '← runs'), title, status, stopBox),
    meta,
    cause,
    h('section', {}, h('h2', {}, 'ranks'), ranksTable),
    h('section', {}, h('h2', {}, 'attempts'), timeline),
    hang,
    h('section', { class: 'charts' }, cpu.el, rss.el, gpu.el),
    training,
    h('section', {}, h('h2', {}, 'output'), h('div', { class: 'tools' }, rankSelect, search, jump, older), logEl),
  );

  let run: Json = {};
  const events: StoreEvent[] = [];
  // Bounded buffers: the newest MAX_LINES of all ranks together, and of each rank (its own view).
  const all: LogLine[] = [];
  const byRank = new Map<number, LogLine[]>();
  const starts = new Map<string, number>(); // first byte shown of each log, for "older"

  const trim = (buf: LogLine[]): void => {
    if (buf.length > MAX_LINES) buf.splice(0, buf.length - MAX_LINES);
  };
  const viewed = (): LogLine[] => (rankSelect.value === 'all' ? all : (byRank.get(Number(rankSelect.value)) ?? []));
  const matches = (l: LogLine): boolean => !search.value || l.text.toLowerCase().includes(search.value.toLowerCase());
  const inView = (l: LogLine): boolean =>
    (rankSelect.value === 'all' || String(l.rank) === rankSelect.value) && matches(l);
  const lineEl = (l: LogLine): HTMLElement =>
    h(
      'div',
      { class: `line ${l.stream}`, 'data-rank': String(l.rank) },
      h('span', { class: 'prefix' }, `[rank${l.rank}]:`),
      l.text,
    );
  const renderLog = (): void => {
    const frag = document.createDocumentFragment();
    for (const l of viewed()) if (matches(l)) frag.append(lineEl(l));
    logEl.replaceChildren(frag);
    logEl.scrollTop = logEl.scrollHeight;
  };
  const rankBuffer = (rank: number): LogLine[] => {
    let buf = byRank.get(rank);
    if (!buf) {
      byRank.set(rank, (buf = []));
      rankSelect.append(h('option', { value: String(rank) }, `rank ${rank}`));
    }
    return buf;
  };
  // Lines that arrived since the last frame: put on the page together, once per frame.
  let pendingLines: LogLine[] = [];
  const flushLines = (): void => {
    const add = pendingLines;
    pendingLines = [];
    const stick = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 30;
    const shown = add.filter(inView);
    if (logEl.childElementCount + shown.length > MAX_LINES) {
      renderLog(); // rebuilding the newest MAX_LINES is cheaper than adding and removing as many
      return;
    }
    const frag = document.createDocumentFragment();
    for (const l of shown) frag.append(lineEl(l));
    logEl.append(frag);
    if (stick) logEl.scrollTop = logEl.scrollHeight;
  };
  const addLines = (add: LogLine[]): void => {
    all.push(...add);
    trim(all);
    for (const l of add) rankBuffer(l.rank).push(l);
    for (const buf of byRank.values()) trim(buf);
    if (pendingLines.length === 0) requestAnimationFrame(flushLines);
    pendingLines.push(...add);
  };
  rankSelect.addEventListener('change', renderLog);
  search.addEventListener('input', renderLog);

  jump.addEventListener('click', () => {
    const rc = rootCauseOf(run);
    if (!rc) return;
    // The failing rank's own view, where its traceback is among its newest lines.
    if (byRank.has(Number(rc.rank))) rankSelect.value = String(rc.rank);
    search.value = '';
    renderLog();
    const candidates = [...logEl.querySelectorAll<HTMLElement>('.line')];
    const target =
      candidates.reverse().find((el) => el.textContent?.includes('Traceback (most recent call last)')) ?? candidates[0];
    if (target) {
      target.classList.add('hit');
      target.scrollIntoView({ block: 'center' });
    }
  });
  older.addEventListener('click', () => void loadOlder());
  async function loadOlder(): Promise<void> {
    // Older lines of the rank in view (all ranks: of each), put before what is shown; user-driven, so not trimmed.
    for (const [key, start] of starts) {
      const [attempt, rank, stream] = key.split('/');
      if (start <= 0 || (rankSelect.value !== 'all' && rank !== rankSelect.value)) continue;
      const q = new URLSearchParams({ attempt: attempt!, rank: rank!, stream: stream!, before: String(start) });
      const res = await fetch(`/api/runs/${encodeURIComponent(id)}/log?${q}`);
      const got = (await res.json()) as { lines: string[]; start: number };
      starts.set(key, got.start);
      const add = got.lines.map((text) => ({
        attempt: Number(attempt),
        rank: Number(rank),
        stream: stream!,
        text: cleanLine(text),
      }));
      all.unshift(...add);
      rankBuffer(Number(rank)).unshift(...add);
    }
    renderLog();
  }

  const renderHeader = (): void => {
    status.replaceChildren(badge(String(run.status ?? '')));
    const rows: [string, string][] = [
      ['command', commandOf(run)],
      ['started', String(run.startedAt ?? '')],
      ['elapsed', elapsed(run)],
      ['exit code', run.exitCode === undefined || run.exitCode === null ? '' : String(run.exitCode)],
      ...preemptionRows(run),
      ['host', String(run.host ?? '')],
      ['cwd', String(run.cwd ?? '')],
    ];
    meta.replaceChildren(h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    const rc = rootCauseOf(run);
    cause.hidden = !rc;
    if (rc) {
      const ex = rc.explanation as Json | undefined;
      cause.replaceChildren(
        ...[
          h('h2', {}, `root cause: rank ${String(rc.rank)}`),
          ex
            ? h(
                'p',
                { class: 'explain', 'data-testid': 'explanation' },
                h('b', {}, String(ex.kind)),
                ' ',
                String(ex.message ?? ''),
              )
            : null,
          ex?.hint ? h('p', { class: 'hint' }, String(ex.hint)) : null,
          h('p', { class: 'message' }, String(rc.message ?? '')),
          h('pre', { class: 'traceback', 'data-testid': 'traceback' }, String(rc.traceback ?? '')),
        ].filter((el): el is HTMLElement => el !== null),
      );
    }
    if (run.status === 'running') {
      if (!stopBox.firstChild) stopBox.replaceChildren(stopButton());
    } else stopBox.replaceChildren();
  };

  function stopButton(): HTMLElement {
    const stop = h('button', { type: 'button', class: 'danger', 'data-testid': 'stop' }, 'Stop');
    stop.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'stop-confirm' }, 'Stop this run');
      const no = h('button', { type: 'button' }, 'Cancel');
      const msg = h('span', { 'data-testid': 'stop-message' }, 'SIGTERM to every rank (as Ctrl-C)? ');
      stopBox.replaceChildren(msg, yes, no);
      no.addEventListener('click', () => stopBox.replaceChildren(stopButton()));
      yes.addEventListener('click', () => {
        void fetch(`/api/runs/${encodeURIComponent(id)}/stop`, { method: 'POST', headers: { 'x-ddprun-csrf': csrf } })
          .then((r) => r.json() as Promise<{ message: string }>)
          .then((r) => msg.replaceChildren(r.message));
      });
    });
    return stop;
  }

  const renderEvents = (): void => {
    // ranks
    const ranks = new Map<
      number,
      { pid?: number; status: string; exit?: string; cpu?: number; rss?: number; gpu?: number; attempt: number }
    >();
    const cpuS = new Map<number, Series>();
    const rssS = new Map<number, Series>();
    const gpuS = new Map<number, Series>();
    const xs = new Set<number>();
    let attempts = 1;
    const steps: HTMLElement[] = [];
    const epochs: StoreEvent[] = [];
    let hangEvent: StoreEvent | undefined;
    for (const e of events) {
      const rank = typeof e.rank === 'number' ? e.rank : -1;
      if (e.event === 'started') {
        ranks.set(rank, {
          ...ranks.get(rank),
          pid: e.pid as number,
          status: 'running',
          attempt: (e.attempt as number) ?? 0,
        });
        if (rank === 0 || rank === -1)
          steps.push(h('li', {}, `attempt ${String(e.attempt ?? 0)} started ${String(e.t ?? '')}`));
      } else if (e.event === 'exited') {
        const r = ranks.get(rank) ?? { status: '', attempt: 0 };
        r.status = e.exitCode === 0 ? 'succeeded' : e.signal ? `killed (${String(e.signal)})` : 'failed';
        r.exit = e.signal ? String(e.signal) : String(e.exitCode);
        ranks.set(rank, r);
      } else if (e.event === 'restarting') {
        attempts++;
        steps.push(
          h(
            'li',
            { class: 'restart' },
            `restart → attempt ${String(e.attempt)}: ${String(e.reason ?? '')}${e.resumeFrom ? ` (resumed from ${String(e.resumeFrom)})` : ''}`,
          ),
        );
      } else if (e.event === 'resources') {
        const t = Math.round(Date.parse(String(e.t)) / 1000);
        xs.add(t);
        const samples = (Array.isArray(e.ranks) ? e.ranks : [e]) as Json[];
        for (const s of samples) {
          const r = s.rank as number;
          const add = (m: Map<number, Series>, v: unknown): void => {
            if (typeof v !== 'number') return;
            if (!m.has(r)) m.set(r, { label: `rank ${r}`, points: new Map() });
            m.get(r)!.points.set(t, v);
          };
          add(cpuS, s.cpuPercent);
          add(rssS, s.rssBytes);
          add(gpuS, s.gpuMemoryBytes);
          const cur = ranks.get(r) ?? { status: 'running', attempt: 0 };
          Object.assign(cur, { cpu: s.cpuPercent, rss: s.rssBytes, gpu: s.gpuMemoryBytes });
          ranks.set(r, cur);
        }
      } else if (e.event === 'epoch') epochs.push(e);
      else if (e.event === 'hang') hangEvent = e;
      else if (e.event === 'done')
        steps.push(
          h(
            'li',
            { class: 'done' },
            `done: exit ${String(e.exitCode)} after ${String(e.attempts ?? attempts)} attempt(s)`,
          ),
        );
    }
    ranksBody.replaceChildren(
      ...[...ranks.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([rank, r]) =>
          h(
            'tr',
            { 'data-rank': String(rank) },
            h('td', {}, rank),
            h('td', {}, r.status),
            h('td', {}, r.pid ?? ''),
            h('td', {}, r.exit ?? ''),
            h('td', {}, r.cpu === undefined ? '' : pct(r.cpu)),
            h('td', {}, r.rss === undefined ? '' : bytes(r.rss)),
            h('td', {}, r.gpu === undefined ? '' : bytes(r.gpu)),
            h('td', {}, attempts - 1),
          ),
        ),
    );
    timeline.replaceChildren(...steps);
    const x = [...xs].sort((a, b) => a - b);
    cpu.set(x, [...cpuS.values()]);
    rss.set(x, [...rssS.values()]);
    gpu.el.hidden = gpuS.size === 0;
    if (gpuS.size) gpu.set(x, [...gpuS.values()]);
    renderTraining(epochs);
    hang.hidden = !hangEvent;
    if (hangEvent) renderHang(hangEvent);
  };

  function renderTraining(epochs: StoreEvent[]): void {
    training.hidden = epochs.length === 0;
    if (!epochs.length) return;
    const x = epochs.map((e) => Number(e.epoch));
    const metrics = epochs.map((e) => (e.metrics ?? {}) as Record<string, number>);
    const keys = Object.keys(metrics[0] ?? {});
    const series = (k: string): Series => ({ label: k, points: new Map(x.map((ep, i) => [ep, metrics[i]![k]!])) });
    loss.set(x, keys.filter((k) => k.includes('loss')).map(series));
    const key = KEY_METRICS.find((k) => keys.includes(k)) ?? keys.find((k) => k.startsWith('metrics/'));
    if (!key) return;
    const map50 = key.replace('mAP50-95', 'mAP50');
    const fitness = (m: Record<string, number>): number =>
      keys.includes(map50) && map50 !== key ? 0.1 * m[map50]! + 0.9 * m[key]! : m[key]!;
    let best = 0;
    metrics.forEach((m, i) => {
      if (fitness(m) > fitness(metrics[best]!)) best = i;
    });
    metric.set(x, [series(key)], x[best]);
    metric.el.querySelector('h3')!.textContent = `${key} by epoch (● best: epoch ${x[best]})`;
  }

  function renderHang(e: StoreEvent): void {
    const stacks = e.stacks as unknown;
    const blocks: HTMLElement[] = [];
    if (stacks && typeof stacks === 'object')
      for (const [rank, text] of Object.entries(stacks as Record<string, unknown>))
        blocks.push(
          h('h3', {}, `rank ${rank}`),
          h('pre', {}, typeof text === 'string' ? text : JSON.stringify(text, null, 2)),
        );
    else if (typeof stacks === 'string') blocks.push(h('pre', {}, stacks));
    hang.replaceChildren(
      h('h2', {}, 'hang report'),
      h('p', {}, String(e.message ?? `no output and no CPU for ${String(e.idleMs ?? '?')} ms`)),
      ...blocks,
    );
  }

  const source = new EventSource(`/api/runs/${encodeURIComponent(id)}/stream`);
  let pending = false;
  const schedule = (): void => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderEvents();
    });
  };
  source.addEventListener('run', (e) => {
    run = (JSON.parse((e as MessageEvent<string>).data) as Json | null) ?? { status: 'gone' };
    renderHeader();
  });
  source.addEventListener('events', (e) => {
    events.push(...(JSON.parse((e as MessageEvent<string>).data) as StoreEvent[]));
    if (events.length > 50_000) events.splice(0, events.length - 50_000);
    schedule();
  });
  source.addEventListener('log-start', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as {
      attempt: number;
      rank: number;
      stream: string;
      start: number;
    };
    starts.set(`${d.attempt}/${d.rank}/${d.stream}`, d.start);
  });
  source.addEventListener('log', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as {
      attempt: number;
      rank: number;
      stream: string;
      lines: string[];
    };
    addLines(d.lines.map((text) => ({ attempt: d.attempt, rank: d.rank, stream: d.stream, text: cleanLine(text) })));
  });
  const tick = setInterval(renderHeader, 1000);
  closeView = () => {
    source.close();
    clearInterval(tick);
  };
}

function route(): void {
  closeView();
  const m = /^#\/run\/(.+)$/.exec(location.hash);
  if (m) runPage(decodeURIComponent(m[1]!));
  else runsPage();
}

void fetch('/api/session')
  .then((r) => r.json() as Promise<{ csrf: string }>)
  .then((s) => {
    csrf = s.csrf;
    window.addEventListener('hashchange', route);
    route();
  });
