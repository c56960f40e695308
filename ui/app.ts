// The dashboard's page. Everything a run printed or recorded is untrusted: it reaches the DOM only as text
// (textContent, never innerHTML), and the server's CSP allows no inline script besides.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { bytes, chart, pct, type Series } from './charts.js';
import { duration, h, localDateTime, localTime } from './dom.js';
import { overallOf, progressEl } from './progress.js';
import { comparePage } from './compare.js';
import { trainingView } from './training.js';

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

/** Events the recorder writes periodically (the page drops their oldest first). */
const SAMPLED = new Set(['resources', 'progress']);
/** Lines kept per view; older ones are fetched on request. */
const MAX_LINES = 10_000;

const app = document.getElementById('app')!;
let csrf = '';
let closeView: () => void = () => undefined;

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
  return duration((end - start) / 1000);
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
        h('th', {}, ''),
        ...['run', 'status', 'ranks', 'progress', 'elapsed', 'exit', 'explanation', 'command'].map((c) =>
          h('th', {}, c),
        ),
      ),
    ),
    body,
  );
  const selected = new Set<string>();
  const compare = h(
    'button',
    { type: 'button', 'data-testid': 'compare', disabled: '', title: 'select two runs or more' },
    'compare selected',
  ) as HTMLButtonElement;
  compare.addEventListener('click', () => {
    location.hash = `#/compare/${[...selected].map(encodeURIComponent).join(',')}`;
  });
  const pick = (id: string): HTMLElement => {
    const box = h('input', {
      type: 'checkbox',
      'aria-label': `select ${id}`,
      'data-testid': 'select',
    }) as HTMLInputElement;
    box.checked = selected.has(id);
    box.addEventListener('change', () => {
      if (box.checked) selected.add(id);
      else selected.delete(id);
      compare.disabled = selected.size < 2;
      compare.textContent = selected.size ? `compare ${selected.size} selected` : 'compare selected';
    });
    return box;
  };
  app.replaceChildren(h('header', {}, h('h1', {}, 'ddprun'), h('label', {}, 'status ', filter), compare), table);
  let runs: Summary[] = [];
  const render = (): void => {
    const rows = runs
      .filter((r) => filter.value === 'all' || r.status === filter.value)
      .map((r) =>
        h(
          'tr',
          { 'data-run': r.id },
          h('td', {}, pick(r.id)),
          h(
            'td',
            {},
            h('a', { href: `#/run/${encodeURIComponent(r.id)}` }, r.id),
            typeof r.run.name === 'string' && r.run.name ? h('div', { class: 'name' }, r.run.name) : null,
          ),
          h('td', {}, badge(r.status)),
          h('td', {}, ranksOf(r.run)),
          h('td', {}, progressEl(overallOf(r.run, r))),
          h('td', {}, elapsed(r.run)),
          h('td', {}, r.run.exitCode === undefined || r.run.exitCode === null ? '' : String(r.run.exitCode)),
          h('td', { class: 'why' }, explanationText(r.run)),
          h('td', { class: 'cmd' }, commandOf(r.run)),
        ),
      );
    body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '9', class: 'empty' }, 'no runs'))]));
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

// ---------------------------------------------------------------------------------------------------- run

/**
 * A line that reads as an error: a traceback, an exception, a logged ERROR. Only these are red: stderr alone is not
 * an error (tqdm draws its bars there, Python's logging writes its INFO there).
 */
const ERRORISH =
  /^Traceback \(most recent call last\)|^\s+File ".+", line \d+|^[\w.]*(Error|Exception|Interrupt)\b(:|$)|\b(ERROR|FATAL|CRITICAL)\b|^\s*\^+\s*$/;

interface RankRow {
  pid?: number;
  status: string;
  exit?: string;
  cpu?: number;
  rss?: number;
  gpu?: number;
}

/** Each rank's row (a finished rank shows no CPU/memory: its last sample is not its state), and the restarts. */
function rankRows(events: readonly StoreEvent[]): { rows: Map<number, RankRow>; restarts: number } {
  const rows = new Map<number, RankRow>();
  let restarts = 0;
  for (const e of events) {
    const rank = typeof e.rank === 'number' ? e.rank : -1;
    if (e.event === 'started') rows.set(rank, { pid: e.pid as number, status: 'running' });
    else if (e.event === 'exited')
      rows.set(rank, {
        ...rows.get(rank),
        status: e.exitCode === 0 ? 'succeeded' : e.signal ? `killed (${String(e.signal)})` : 'failed',
        exit: e.signal ? String(e.signal) : String(e.exitCode),
        cpu: undefined,
        rss: undefined,
        gpu: undefined,
      });
    else if (e.event === 'restarting') restarts++;
    else if (e.event === 'resources')
      for (const s of (Array.isArray(e.ranks) ? e.ranks : [e]) as Json[]) {
        const row = rows.get(s.rank as number);
        if (row && row.status !== 'running') continue; // a late sample of a rank that has exited
        rows.set(s.rank as number, {
          ...(row ?? { status: 'running' }),
          cpu: s.cpuPercent as number,
          rss: s.rssBytes as number,
          gpu: s.gpuMemoryBytes as number | undefined,
        });
      }
  }
  return { rows, restarts };
}

/** CPU, RSS and GPU memory per rank, by sample time (seconds). */
function resourceSeries(events: readonly StoreEvent[]): Record<'cpu' | 'rss' | 'gpu', Series[]> {
  const maps = { cpu: new Map<number, Series>(), rss: new Map<number, Series>(), gpu: new Map<number, Series>() };
  const add = (m: Map<number, Series>, rank: number, t: number, v: unknown): void => {
    if (typeof v !== 'number') return;
    if (!m.has(rank)) m.set(rank, { label: `rank ${rank}`, points: new Map() });
    m.get(rank)!.points.set(t, v);
  };
  for (const e of events) {
    if (e.event !== 'resources') continue;
    const t = Math.round(Date.parse(String(e.t)) / 1000);
    for (const s of (Array.isArray(e.ranks) ? e.ranks : [e]) as Json[]) {
      add(maps.cpu, s.rank as number, t, s.cpuPercent);
      add(maps.rss, s.rank as number, t, s.rssBytes);
      add(maps.gpu, s.rank as number, t, s.gpuMemoryBytes);
    }
  }
  return { cpu: [...maps.cpu.values()], rss: [...maps.rss.values()], gpu: [...maps.gpu.values()] };
}

/** The latest epoch and progress-bar events, and the first epoch event of the current attempt (for the ETA). */
function latestProgress(events: readonly StoreEvent[]): { epoch?: Json; progress?: Json; firstEpoch?: Json } {
  const out: { epoch?: Json; progress?: Json; firstEpoch?: Json } = {};
  for (const e of events) {
    if (e.event === 'epoch') {
      out.epoch = e;
      out.firstEpoch ??= e;
    } else if (e.event === 'progress') out.progress = e;
    else if (e.event === 'restarting') delete out.firstEpoch;
  }
  return out;
}

interface Attempt {
  started?: string;
  failure?: string;
  reason?: string;
  resumed?: string;
}

/** One line per attempt (when it started, why it was restarted, where it resumed, what ended it), then the end. */
function attemptsTimeline(events: readonly StoreEvent[], run: Json): HTMLElement[] {
  const attempts = new Map<number, Attempt>();
  const of = (a: unknown): Attempt => {
    const k = typeof a === 'number' ? a : 0;
    if (!attempts.has(k)) attempts.set(k, {});
    return attempts.get(k)!;
  };
  let done: StoreEvent | undefined;
  for (const e of events) {
    if (e.event === 'started') of(e.attempt).started ??= e.t;
    else if (e.event === 'exited' && e.exitCode !== 0)
      of(e.attempt).failure ??=
        `rank ${String(e.rank)} ${e.signal ? `killed by ${String(e.signal)}` : `exited with ${String(e.exitCode)}`}`;
    else if (e.event === 'restarting') {
      const a = of(e.attempt);
      a.reason = String(e.reason ?? '');
      if (e.resumeFrom)
        a.resumed = `resumed from ${String(e.resumeFrom)}${typeof e.epoch === 'number' ? ` after epoch ${e.epoch}` : ''}`;
    } else if (e.event === 'done') done = e;
  }
  const items = [...attempts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, a]) =>
      h(
        'li',
        { class: k > 0 ? 'restart' : '', 'data-attempt': String(k) },
        h('strong', {}, `attempt ${k}`),
        a.started ? ` · started ${localTime(a.started)}` : '',
        a.reason ? ` · restarted because ${a.reason}` : '',
        a.resumed ? ` · ${a.resumed}` : k > 0 ? ' · from the start' : '',
        a.failure ? ` · ended: ${a.failure}` : '',
      ),
    );
  if (done) {
    const n = typeof done.attempts === 'number' ? done.attempts : attempts.size;
    items.push(
      h(
        'li',
        { class: 'done' },
        h('strong', {}, String(run.status ?? 'finished')),
        ` · ${localTime(done.t)} · exit ${String(done.exitCode)} after ${n === 1 ? '1 attempt' : `${n} attempts`}`,
      ),
    );
  }
  return items;
}

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
  const training = trainingView();
  const progressBox = h('div', { class: 'run-progress' });
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
    progressBox,
    meta,
    cause,
    hang,
    training.el,
    h('section', {}, h('h2', {}, 'ranks'), ranksTable),
    h('section', {}, h('h2', {}, 'attempts'), timeline),
    h('section', {}, h('h2', {}, 'resources'), h('div', { class: 'chart-grid' }, cpu.el, rss.el, gpu.el)),
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
      { class: `line ${l.stream}${ERRORISH.test(l.text) ? ' error' : ''}`, 'data-rank': String(l.rank) },
      h('span', { class: 'prefix', title: l.stream }, `[rank${l.rank}${l.stream === 'stderr' ? ' err' : ''}]:`),
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
    renderProgress();
    const rows: [string, string][] = [
      ['command', commandOf(run)],
      ['started', localDateTime(run.startedAt)],
      ...(run.endedAt ? [['ended', localDateTime(run.endedAt)] as [string, string]] : []),
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
    const ranks = rankRows(events);
    ranksBody.replaceChildren(
      ...[...ranks.rows.entries()]
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
            h('td', {}, ranks.restarts),
          ),
        ),
    );
    timeline.replaceChildren(...attemptsTimeline(events, run));
    const res = resourceSeries(events);
    cpu.set({ x: 'time', series: res.cpu });
    rss.set({ x: 'time', series: res.rss });
    gpu.el.hidden = res.gpu.length === 0;
    if (res.gpu.length) gpu.set({ x: 'time', series: res.gpu });
    training.update(events);
    latest = latestProgress(events);
    renderProgress();
    let hangEvent: StoreEvent | undefined;
    for (const e of events) if (e.event === 'hang') hangEvent = e;
    hang.hidden = !hangEvent;
    if (hangEvent) renderHang(hangEvent);
  };
  let latest: ReturnType<typeof latestProgress> = {};
  const renderProgress = (): void => progressBox.replaceChildren(progressEl(overallOf(run, latest)));

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
    if (events.length > 50_000) {
      // The oldest resource samples and progress updates go; metrics, epochs and attempts stay.
      let drop = events.length - 40_000;
      const kept = events.filter((ev) => !(drop > 0 && SAMPLED.has(ev.event) && drop-- > 0));
      events.splice(0, events.length, ...kept);
    }
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
  const c = /^#\/compare\/(.+)$/.exec(location.hash);
  if (m) runPage(decodeURIComponent(m[1]!));
  else if (c) closeView = comparePage(app, c[1]!.split(',').map(decodeURIComponent));
  else runsPage();
}

void fetch('/api/session')
  .then((r) => r.json() as Promise<{ csrf: string }>)
  .then((s) => {
    csrf = s.csrf;
    window.addEventListener('hashchange', route);
    route();
  });
