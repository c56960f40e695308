import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { type Dashboard, launch, startDashboard } from 'ddprun';
import { TORCH_SKIP_REASON, torchPython } from '../helpers/python.js';
import { tempDir } from '../helpers/procs.js';
import {
  artifact,
  browserMissing,
  fakeStore,
  inkedPixels,
  launchBrowser,
  watchedPage,
  type FakeRun,
} from './browser.js';
import { ensureBuilt } from '../cli/helpers.js';

const python = await torchPython();
const skip = browserMissing() ?? (python ? undefined : TORCH_SKIP_REASON);
const FIXTURE = path.resolve('test/fixtures/metrics/log_metrics.py');
/** Kolkata is UTC+5:30 all year: a time shown in UTC, or in the machine's zone, cannot pass for it. */
const ZONE = 'Asia/Kolkata';

let dashboard: Dashboard;
let browser: Browser;
const cleanups: (() => void)[] = [];
const base = (): string => dashboard.url.replace(/\/\?token=.*/, '');

beforeAll(async () => {
  if (browserMissing()) return; // the recorded runs' tests need no torch
  ensureBuilt();
  // The test file's own store (test/setup-state-dir.ts): the launches below are recorded there.
  dashboard = await startDashboard({ stateDir: process.env.DDPRUN_STATE_DIR! });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  cleanups.splice(0).forEach((c) => c());
});

/** log_metrics.py on 2 real ranks (gloo) in a fresh working directory, logging one way; returns the run id. */
async function runScript(format: string): Promise<string> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const cwd = path.join(dir, 'work');
  mkdirSync(cwd);
  const handle = launch({
    entry: { script: FIXTURE, args: [format] },
    nprocPerNode: 2,
    console: false,
    cwd,
    python: python!,
  });
  expect((await handle.result).exitCode).toBe(0);
  return handle.runId!;
}

async function openRun(id: string, zone = ZONE): Promise<{ page: Page; incidents: string[] }> {
  const watched = await watchedPage(browser, { timezoneId: zone, locale: 'en-GB' });
  await watched.page.goto(dashboard.url);
  await watched.page.goto(`${base()}/#/run/${id}`);
  return watched;
}

/** The [x, value] pairs a metric's chart was given, as logged. */
async function chartSeries(page: Page, metric: string): Promise<[number, number][]> {
  const sel = `[data-testid="metric"][data-metric="${metric}"]`;
  await page.waitForSelector(`${sel} canvas`);
  const series = JSON.parse((await page.getAttribute(sel, 'data-series'))!) as { points: [number, number][] }[];
  return series[0]!.points;
}

describe.skipIf(skip)('the run page charts the metrics a plain script logs', () => {
  it('charts a 2-rank script printing Hugging Face log dicts: grouped, best marked, smoothing, log scale', async () => {
    const id = await runScript('dict');
    const { page, incidents } = await openRun(id);
    // Rank 0's values by epoch (rank 1 printed the same dicts plus 100: not read).
    expect(await chartSeries(page, 'loss')).toEqual([
      [1, 1],
      [2, 0.5],
      [3, 0.25],
      [4, 0.375],
    ]);
    expect(await chartSeries(page, 'eval_accuracy')).toEqual([
      [2, 0.5],
      [4, 0.75],
    ]);
    const groupOf = (metric: string) =>
      page.$eval(`[data-metric="${metric}"]`, (el) => el.closest('[data-group]')!.getAttribute('data-group'));
    expect(await groupOf('loss')).toBe('losses');
    expect(await groupOf('eval_loss')).toBe('losses');
    expect(await groupOf('learning_rate')).toBe('learning rate');
    expect(await groupOf('eval_accuracy')).toBe('evaluation');
    // The best value named and marked: the lowest loss, the highest accuracy; none for a learning rate.
    expect(await page.textContent('[data-metric="loss"] h3')).toBe('loss · last 0.375 · best 0.25 (epoch 3)');
    expect(await page.textContent('[data-metric="eval_accuracy"] h3')).toContain('best 0.75 (epoch 4)');
    expect(await page.textContent('[data-metric="learning_rate"] h3')).not.toContain('best');
    // An epoch axis has its ticks at whole epochs.
    const ticks = (await page.getAttribute('[data-metric="loss"]', 'data-xticks'))!.split(',').map(Number);
    expect(ticks.length).toBeGreaterThan(1);
    expect(ticks.every(Number.isInteger)).toBe(true);
    expect(await inkedPixels(page, 'metric')).toBeGreaterThan(100);
    // A finished rank shows no CPU or RSS (its last sample is not its state).
    await page.waitForSelector('[data-testid="ranks"] tr[data-rank="1"]');
    const cells = await page.$$eval('[data-testid="ranks"] tr[data-rank="1"] td', (tds) =>
      tds.map((t) => t.textContent),
    );
    expect(cells.slice(1, 6)).toEqual(['succeeded', expect.stringMatching(/^\d+$/), '0', '', '']);
    await page.screenshot({ path: artifact('dashboard-metrics-run.png'), fullPage: true });

    // Smoothing: the line drawn is TensorBoard's debiased moving average of the values.
    await page.$eval('[data-testid="smoothing"]', (el) => {
      (el as HTMLInputElement).value = '0.5';
      el.dispatchEvent(new Event('input'));
    });
    const drawn = JSON.parse((await page.getAttribute('[data-metric="loss"]', 'data-drawn'))!) as number[];
    let ema = 0;
    const expected = [1, 0.5, 0.25, 0.375].map((v, i) => (ema = 0.5 * ema + 0.5 * v) / (1 - 0.5 ** (i + 1)));
    drawn.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
    await page.check('[data-testid="log-scale"]');
    await page.waitForSelector('[data-metric="loss"] canvas');
    expect(await inkedPixels(page, 'metric')).toBeGreaterThan(100);

    // Times are the browser's local ones: the record's UTC start, shown in Kolkata's zone.
    const run = (await (
      await fetch(`${base()}/api/runs/${id}`, { headers: { cookie: `ddprun_token=${dashboard.token}` } })
    ).json()) as {
      run: { startedAt: string };
    };
    const local = new Date(run.run.startedAt).toLocaleString('en-GB', {
      timeZone: ZONE,
      dateStyle: 'medium',
      timeStyle: 'long',
    });
    expect(local).toContain('GMT+5:30');
    expect(await page.textContent('.meta dl')).toContain(local);
    expect(await page.textContent('[data-testid="timeline"]')).toContain(
      new Date(run.run.startedAt).toLocaleTimeString('en-GB', { timeZone: ZONE }).slice(0, 5),
    );
    expect(await page.textContent('body')).not.toContain(run.run.startedAt);
    expect(incidents).toEqual([]);
    await page.close();
  });

  it("gives the same loss and acc charts from Lightning's metrics.csv and from a TensorBoard event file", async () => {
    const seen: Record<string, unknown> = {};
    for (const format of ['csv', 'tb']) {
      const { page, incidents } = await openRun(await runScript(format));
      seen[format] = { loss: await chartSeries(page, 'loss'), acc: await chartSeries(page, 'acc') };
      expect(await page.getAttribute('[data-metric="loss"]', 'data-xticks')).toMatch(/^\d+(,\d+)+$/);
      expect(incidents).toEqual([]);
      await page.close();
    }
    const expected = {
      loss: [
        [10, 1],
        [20, 0.5],
        [30, 0.25],
        [40, 0.375],
      ],
      acc: [
        [20, 0.5],
        [40, 0.75],
      ],
    };
    expect(seen).toEqual({ csv: expected, tb: expected });
  });
});

const t0 = Date.parse('2026-12-02T07:15:00.000Z');
const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
const RESTARTED = '20261202-071500-e90c';
const LR3 = '20261202-080000-1e03';
const LR4 = '20261202-080100-1e04';
const LIVE = '20261202-080200-11fe';
const TQDM = '20261202-080300-7d7d';

/** A run logging `loss` at steps 10…50, falling faster with the higher learning rate. */
function lrRun(id: string, name: string, rate: number): FakeRun {
  return {
    id,
    run: { name, status: 'succeeded', exitCode: 0, startedAt: at(0), endedAt: at(60) },
    events: [1, 2, 3, 4, 5].map((i) => ({
      event: 'metric',
      t: at(i * 10),
      name: 'loss',
      value: Math.exp(-rate * i),
      step: i * 10,
      rank: 0,
      source: 'json',
    })),
  };
}

describe.skipIf(browserMissing())('recorded runs: attempts, comparison, progress column', () => {
  const store = fakeStore([
    {
      id: RESTARTED,
      run: { status: 'succeeded', exitCode: 0, startedAt: at(0), endedAt: at(100), maxRestarts: 1 },
      events: [
        { event: 'started', t: at(0), attempt: 0, rank: 0, localRank: 0, pid: 100 },
        { event: 'exited', t: at(20), attempt: 0, rank: 0, localRank: 0, exitCode: 1, signal: null },
        {
          event: 'restarting',
          t: at(21),
          attempt: 1,
          reason: 'rank 0 exited with 1',
          resumeFrom: '/w/last.pt',
          epoch: 3,
        },
        { event: 'started', t: at(22), attempt: 1, rank: 0, localRank: 0, pid: 101 },
        ...Array.from({ length: 12 }, (_, i) => ({
          event: 'metric',
          t: at(30 + i),
          name: 'loss',
          value: 1 / (i + 1),
          epoch: (i + 1) / 4,
          rank: 0,
          source: 'dict',
        })),
        { event: 'exited', t: at(99), attempt: 1, rank: 0, localRank: 0, exitCode: 0, signal: null },
        { event: 'done', t: at(100), exitCode: 0, attempts: 2 },
      ],
    },
    lrRun(LR3, 'lr-1e-3', 0.5),
    lrRun(LR4, 'lr-1e-4', 0.1),
    {
      id: LIVE,
      run: { status: 'running', startedAt: at(0), launcher: { pid: process.pid, startTime: 1, bootId: null } },
      events: [
        { event: 'epoch', t: at(1100), epoch: 11, epochs: 300, metrics: { 'train/box_loss': 1 } },
        {
          event: 'progress',
          t: at(1110),
          rank: 0,
          stream: 'stderr',
          format: 'ultralytics',
          desc: '12/300',
          n: 6,
          total: 100,
          unit: 'it',
        },
      ],
    },
    {
      id: TQDM,
      run: { status: 'succeeded', exitCode: 0, startedAt: at(0), endedAt: at(60) },
      events: [
        {
          event: 'progress',
          t: at(50),
          rank: 0,
          stream: 'stderr',
          format: 'tqdm',
          desc: 'train:',
          n: 120,
          total: 400,
          unit: 'it',
          remaining: 75,
        },
      ],
    },
  ]);
  let own: Dashboard;
  const ownBase = (): string => own.url.replace(/\/\?token=.*/, '');
  beforeAll(async () => {
    own = await startDashboard({ stateDir: store.stateDir });
  });
  afterAll(async () => {
    await own?.close();
    store.cleanup();
  });

  it('puts epoch ticks at whole epochs for fractional epochs, and lists the attempts readably', async () => {
    const { page, incidents } = await watchedPage(browser, { timezoneId: ZONE, locale: 'en-GB' });
    await page.goto(own.url);
    await page.goto(`${ownBase()}/#/run/${RESTARTED}`);
    await page.waitForSelector('[data-metric="loss"] canvas');
    expect(await page.getAttribute('[data-metric="loss"]', 'data-xticks')).toBe('1,2,3');
    const attempts = await page.$$eval('[data-testid="timeline"] li', (ls) => ls.map((l) => l.textContent));
    expect(attempts).toEqual([
      'attempt 0 · started 12:45:00 · ended: rank 0 exited with 1',
      'attempt 1 · started 12:45:22 · restarted because rank 0 exited with 1 · resumed from /w/last.pt after epoch 3',
      'succeeded · 12:46:40 · exit 0 after 2 attempts',
    ]);
    expect(incidents).toEqual([]);
    await page.close();
  });

  it('compares two runs selected on the runs page: both series of the metric on one chart', async () => {
    const { page, incidents } = await watchedPage(browser);
    await page.goto(own.url);
    await page.waitForSelector(`[data-run="${LR3}"]`);
    expect(await page.isDisabled('[data-testid="compare"]')).toBe(true);
    await page.check(`[data-run="${LR3}"] [data-testid="select"]`);
    await page.check(`[data-run="${LR4}"] [data-testid="select"]`);
    await page.click('[data-testid="compare"]');
    await page.waitForSelector('[data-testid="compare-chart"] canvas');
    expect(await page.inputValue('[data-testid="compare-metric"]')).toBe('loss');
    const series = JSON.parse((await page.getAttribute('[data-testid="compare-chart"]', 'data-series'))!) as {
      label: string;
      points: [number, number][];
    }[];
    const expected = (rate: number) => [1, 2, 3, 4, 5].map((i) => [i * 10, Math.exp(-rate * i)]);
    expect(series.map((s) => s.label).sort()).toEqual([`lr-1e-3 (${LR3})`, `lr-1e-4 (${LR4})`]);
    expect(series.find((s) => s.label.startsWith('lr-1e-3'))!.points).toEqual(expected(0.5));
    expect(series.find((s) => s.label.startsWith('lr-1e-4'))!.points).toEqual(expected(0.1));
    expect(await inkedPixels(page, 'compare-chart')).toBeGreaterThan(100);
    await page.screenshot({ path: artifact('dashboard-compare.png'), fullPage: true });
    expect(incidents).toEqual([]);
    await page.close();
  });

  it("shows overall progress in the runs page's progress column, the current epoch's bar labelled", async () => {
    const { page, incidents } = await watchedPage(browser);
    await page.goto(own.url);
    await page.waitForSelector(`[data-run="${LIVE}"] [data-testid="progress"]`);
    expect(await page.textContent(`[data-run="${LIVE}"] [data-testid="progress"]`)).toMatch(
      /^epoch 11\/300 · epoch 12: 6% · ETA \d+h\d\dm$/,
    );
    expect(await page.getAttribute(`[data-run="${LIVE}"] progress`, 'value')).toBe(String(11 / 300));
    expect(await page.textContent(`[data-run="${TQDM}"] [data-testid="progress"]`)).toBe('train 120/400 · ETA 1m15s');
    await page.screenshot({ path: artifact('dashboard-runs.png'), fullPage: true });
    expect(incidents).toEqual([]);
    await page.close();
  });
});
