import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { type Dashboard, startDashboard } from 'ddprun';
import { artifact, browserMissing, fakeStore, inkedPixels, launchBrowser, watchedPage } from './browser.js';
import { ensureBuilt } from '../cli/helpers.js';

const skip = browserMissing();
const FAILED = '20261202-071500-fa11';
const TRAIN = '20261202-071600-b0b0';
const HOSTILE = '20261202-071700-e7e7';

const t0 = Date.parse('2026-12-02T07:15:00.000Z');
const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
const traceback = [
  'Traceback (most recent call last):',
  '  File "/work/train.py", line 3, in <module>',
  "    raise ValueError('<img src=x onerror=alert(1)>')",
  'ValueError: <img src=x onerror=alert(1)>',
].join('\n');
/** tqdm draws its bar on stderr: not an error. */
const TQDM = 'Epoch 1:  50%|█████     | 5/10 [00:01<00:01,  4.00it/s]';
const hostileLines = [
  '<script>alert(1)</script>',
  '</script><script>alert(2)</script>',
  '<img src=x onerror=alert(3)>',
  '<a href="javascript:alert(4)">click</a>',
  'x'.repeat(1024 * 1024),
].join('\n');

const store = fakeStore([
  {
    id: FAILED,
    run: {
      argv: ['ddprun', '--nproc-per-node', '2', 'train.py'],
      status: 'failed',
      exitCode: 1,
      startedAt: at(0),
      endedAt: at(70),
      options: { nprocPerNode: 2 },
      rootCause: {
        rank: 1,
        localRank: 1,
        pid: 101,
        host: 'box',
        time: at(70),
        exitCode: 1,
        signal: null,
        traceback,
        source: 'stderr',
        message: 'ValueError: <img src=x onerror=alert(1)>',
        explanation: { kind: 'python-exception', message: 'rank 1 raised ValueError', hint: 'see its traceback' },
      },
    },
    events: [
      { event: 'started', t: at(0), attempt: 0, rank: 0, localRank: 0, pid: 100, masterPort: 29500 },
      { event: 'started', t: at(0), attempt: 0, rank: 1, localRank: 1, pid: 101, masterPort: 29500 },
      ...Array.from({ length: 20 }, (_, s) => ({
        event: 'resources',
        t: at(s + 1),
        ranks: [0, 1].map((rank) => ({
          rank,
          pid: 100 + rank,
          cpuPercent: 40 + rank * 40 + (s % 5),
          rssBytes: (300 + 10 * s + 100 * rank) * 1e6,
        })),
      })),
      { event: 'exited', t: at(70), attempt: 0, rank: 1, localRank: 1, exitCode: 1, signal: null },
    ],
    logs: { '0/0/stdout': 'hello from rank 0\n', '0/1/stderr': `${TQDM}\n${traceback}\n` },
  },
  {
    id: TRAIN,
    run: {
      argv: ['ddprun', 'train', 'x.Trainer', 'epochs=3'],
      status: 'succeeded',
      exitCode: 0,
      startedAt: at(0),
      endedAt: at(50),
    },
    events: [1, 2, 3].map((epoch) => ({
      event: 'epoch',
      t: at(epoch * 10),
      epoch,
      epochs: 3,
      metrics: {
        'train/box_loss': 1.5 / epoch,
        'train/cls_loss': 2 / epoch,
        'metrics/mAP50(B)': 0.3 * epoch,
        'metrics/mAP50-95(B)': [0.2, 0.4, 0.35][epoch - 1],
      },
    })),
  },
  {
    id: HOSTILE,
    run: { argv: ['ddprun', '<b>bold</b>.py'], status: 'succeeded', exitCode: 0, startedAt: at(0), endedAt: at(5) },
    logs: { '0/0/stdout': Buffer.concat([Buffer.from(hostileLines + '\n'), Buffer.from([0xff, 0xfe, 0x41, 0x0a])]) },
  },
]);

let dashboard: Dashboard;
let browser: Browser;
const cookie = (d: Dashboard): string => `ddprun_token=${d.token}`;
const base = (d: Dashboard): string => d.url.replace(/\/\?token=.*/, '');

beforeAll(async () => {
  if (skip) return;
  ensureBuilt();
  dashboard = await startDashboard({ stateDir: store.stateDir });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  store.cleanup();
});

describe.skipIf(skip)('ddprun dashboard: access', () => {
  it('answers 401 and shows nothing of a run without the token or with a wrong one', async () => {
    for (const path of [
      '/',
      '/api/runs',
      `/api/runs/${FAILED}`,
      `/api/runs/${FAILED}/log?attempt=0&rank=0&stream=stdout&before=99`,
      '/static/app.js',
    ]) {
      for (const headers of [{}, { cookie: 'ddprun_token=wrong' }] as Record<string, string>[]) {
        const res = await fetch(base(dashboard) + path, { headers, redirect: 'manual' });
        expect(res.status, path).toBe(401);
        expect(await res.text()).not.toContain(FAILED);
      }
    }
    const wrongUrl = await fetch(`${base(dashboard)}/?token=${'0'.repeat(48)}`, { redirect: 'manual' });
    expect(wrongUrl.status).toBe(401);
  });

  it('turns the URL token into an HttpOnly SameSite cookie, and serves with a strict CSP', async () => {
    const res = await fetch(dashboard.url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    expect(res.headers.get('set-cookie')).toMatch(/ddprun_token=\w+; HttpOnly; SameSite=Strict/);
    const page = await fetch(base(dashboard) + '/', { headers: { cookie: cookie(dashboard) } });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await page.text()).not.toMatch(/<script>[^<]/); // no inline script
  });

  it('refuses a POST without the CSRF token or from another origin, and paths outside the store', async () => {
    const stop = `${base(dashboard)}/api/runs/${FAILED}/stop`;
    expect((await fetch(stop, { method: 'POST', headers: { cookie: cookie(dashboard) } })).status).toBe(403);
    const { csrf } = (await (
      await fetch(`${base(dashboard)}/api/session`, { headers: { cookie: cookie(dashboard) } })
    ).json()) as { csrf: string };
    const foreign = await fetch(stop, {
      method: 'POST',
      headers: { cookie: cookie(dashboard), 'x-ddprun-csrf': csrf, origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const finished = await fetch(stop, {
      method: 'POST',
      headers: { cookie: cookie(dashboard), 'x-ddprun-csrf': csrf },
    });
    expect(finished.status).toBe(409); // a finished run is not stopped again
    for (const id of ['..', '..%2F..%2Fetc', '%2Fetc%2Fpasswd', 'x%00y']) {
      const res = await fetch(`${base(dashboard)}/api/runs/${id}/log?attempt=0&rank=0&stream=stdout&before=10`, {
        headers: { cookie: cookie(dashboard) },
      });
      expect(res.status, id).toBe(404);
    }
  });
});

describe.skipIf(skip)('ddprun dashboard: pages', () => {
  /** A watched page (see `watchedPage`) on run `id`'s page, reached from the token URL as a user would. */
  async function runPage(id: string) {
    const watched = await watchedPage(browser);
    await watched.page.goto(dashboard.url);
    await watched.page.goto(`${base(dashboard)}/#/run/${id}`);
    return watched;
  }

  it('lists every run newest first and filters by status', async () => {
    const { page, incidents } = await watchedPage(browser);
    await page.goto(dashboard.url);
    await page.waitForSelector(`[data-run="${FAILED}"]`);
    expect(await page.$$eval('[data-run]', (rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual([
      HOSTILE,
      TRAIN,
      FAILED,
    ]);
    await page.selectOption('[data-testid="filter"]', 'failed');
    expect(await page.$$eval('[data-run]', (rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual([FAILED]);
    expect(await page.textContent(`[data-run="${FAILED}"]`)).toContain('python-exception: rank 1 raised ValueError');
    expect(incidents).toEqual([]);
    await page.close();
  });

  it('shows a failed run: explanation, traceback, ranks, CPU and RSS charts', async () => {
    const { page, incidents } = await runPage(FAILED);
    await page.waitForSelector('[data-testid="traceback"]');
    expect(await page.textContent('[data-testid="explanation"]')).toBe('python-exception rank 1 raised ValueError');
    expect(await page.textContent('[data-testid="traceback"]')).toBe(traceback);
    await page.waitForSelector('[data-testid="ranks"] tr[data-rank="1"]');
    expect(await page.textContent('[data-testid="ranks"] tr[data-rank="1"]')).toContain('101');
    await page.waitForSelector('[data-testid="cpu-chart"][data-points="20"] canvas');
    expect(await inkedPixels(page, 'cpu-chart')).toBeGreaterThan(100);
    expect(await inkedPixels(page, 'rss-chart')).toBeGreaterThan(100);
    // stderr is marked on its prefix; only the traceback's lines are red, not tqdm's bar.
    const colour = (text: string) =>
      page.$eval(`.line[data-rank="1"] >> text=${text}`, (l: Element): string[] => [
        l.className,
        getComputedStyle(l).color,
      ]);
    expect(await colour('Epoch 1:')).toEqual(['line stderr', 'rgb(226, 232, 240)']);
    expect(await colour('Traceback (most recent call last)')).toEqual(['line stderr error', 'rgb(252, 165, 165)']);
    expect(await page.textContent('.line[data-rank="1"] .prefix')).toBe('[rank1 err]:');
    await page.click('[data-testid="jump"]');
    expect(await page.textContent('.line.hit')).toContain('Traceback (most recent call last)');
    await page.screenshot({ path: artifact('dashboard-failed-run.png'), fullPage: true });
    expect(incidents).toEqual([]);
    await page.close();
  });

  it('charts a trainer run: a chart per results.csv column, one point per epoch, the best epoch marked', async () => {
    const { page, incidents } = await runPage(TRAIN);
    const key = '[data-metric="metrics/mAP50-95(B)"]';
    await page.waitForSelector(`${key}[data-points="3"] canvas`);
    expect(await page.getAttribute('[data-metric="train/box_loss"]', 'data-points')).toBe('3');
    expect(await page.textContent(key + ' h3')).toBe('metrics/mAP50-95(B) · last 0.35 · best 0.4 (epoch 2)');
    expect(
      await page.$$eval('[data-group="losses"] [data-metric]', (els) => els.map((e) => e.getAttribute('data-metric'))),
    ).toEqual(['train/box_loss', 'train/cls_loss']);
    expect(await page.textContent('[data-testid="progress"]')).toBe('epoch 3/3');
    expect(await inkedPixels(page, 'metric')).toBeGreaterThan(100);
    expect(incidents).toEqual([]);
    await page.close();
  });

  it('shows hostile log lines and names as text: no dialog, no script, no element made from them', async () => {
    const { page, incidents } = await watchedPage(browser);
    await page.goto(dashboard.url);
    await page.waitForSelector(`[data-run="${HOSTILE}"]`);
    expect(await page.textContent(`[data-run="${HOSTILE}"] .cmd`)).toBe('ddprun <b>bold</b>.py');
    await page.goto(`${base(dashboard)}/#/run/${HOSTILE}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="log"] .line').length >= 6);
    const texts = await page.$$eval('[data-testid="log"] .line', (ls) => ls.map((l) => l.lastChild?.textContent ?? ''));
    expect(texts.slice(0, 4)).toEqual(hostileLines.split('\n').slice(0, 4));
    expect(texts[4]).toMatch(/^x{10000} … \[1038576 more characters\]$/);
    expect(texts[5]).toBe('\uFFFD\uFFFDA');
    expect(await page.$$('[data-testid="log"] script, [data-testid="log"] img, [data-testid="log"] a, b')).toHaveLength(
      0,
    );
    await page.waitForTimeout(300); // an onerror handler would have fired by now
    expect(incidents).toEqual([]);
    await page.close();
  });

  it('keeps working when a run folder is corrupt, half-written or deleted while viewed', async () => {
    const { page, incidents } = await watchedPage(browser);
    const id = '20261202-071800-d0d0';
    store.write({
      id,
      run: { argv: ['ddprun', 'gone.py'], status: 'succeeded', exitCode: 0 },
      logs: { '0/0/stdout': 'still here\n' },
    });
    const { writeFileSync, rmSync, appendFileSync } = await import('node:fs');
    writeFileSync(`${store.stateDir}/runs/${FAILED}/run.json.tmp`, '{"half');
    appendFileSync(`${store.stateDir}/runs/${FAILED}/events.jsonl`, '{"v":1,"event":"exi');
    store.write({ id: '20261202-071900-bad!', run: {} }); // not a run id: never read
    await page.goto(dashboard.url);
    await page.goto(`${base(dashboard)}/#/run/${id}`);
    await page.waitForSelector('[data-testid="log"] .line');
    rmSync(`${store.stateDir}/runs/${id}`, { recursive: true });
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'gone');
    await page.goto(`${base(dashboard)}/#/`);
    await page.waitForSelector(`[data-run="${FAILED}"]`);
    expect(await page.$(`[data-run="${id}"]`)).toBeNull();
    expect(incidents).toEqual([]);
    await page.close();
  });
});

describe.skipIf(skip)('ddprun dashboard: a large run', () => {
  it('renders a run of 8 ranks and 100,000 log lines, newest lines first (first-render time reported)', async () => {
    const id = '20261202-072000-8a8a';
    const logs: Record<string, string> = {};
    for (let rank = 0; rank < 8; rank++)
      logs[`0/${rank}/stdout`] =
        Array.from({ length: 12_500 }, (_, i) => `rank ${rank} step ${i} loss ${(1 / (i + 1)).toFixed(6)}`).join('\n') +
        '\n';
    store.write({
      id,
      run: { argv: ['ddprun', '--nproc-per-node', '8', 'big.py'], status: 'succeeded', exitCode: 0, worldSize: 8 },
      events: Array.from({ length: 8 }, (_, rank) => ({
        event: 'started',
        attempt: 0,
        rank,
        localRank: rank,
        pid: 1000 + rank,
      })),
      logs,
    });
    const { page, incidents } = await watchedPage(browser);
    await page.goto(dashboard.url);
    await page.waitForSelector('[data-testid="runs"]');
    const t0 = Date.now();
    await page.goto(`${base(dashboard)}/#/run/${id}`);
    // The ranks' logs arrive one after another (rank 0 first): the view is whole once rank 7's last line is in.
    await page.waitForFunction(
      () =>
        document.querySelectorAll('[data-testid="log"] .line').length >= 10_000 &&
        (document.querySelector('[data-testid="log"]')?.textContent ?? '').includes('rank 7 step 12499 loss'),
    );
    const ms = Date.now() - t0;
    console.log(
      `dashboard: first render of 8 ranks × 12,500 lines: ${ms} ms (navigation to all 8 ranks' newest 10,000 lines on the page)`,
    );
    // The view keeps the newest 10,000 lines of what arrived; a rank's last line is among them.
    expect(await page.$$eval('[data-testid="log"] .line', (ls) => ls.length)).toBe(10_000);
    expect(await page.textContent('[data-testid="log"]')).toContain('rank 7 step 12499 loss');
    await page.selectOption('[data-testid="rank-select"]', '3');
    expect(
      await page.$$eval('[data-testid="log"] .line', (ls) => ls.every((l) => l.getAttribute('data-rank') === '3')),
    ).toBe(true);
    await page.fill('[data-testid="search"]', 'step 12345 ');
    expect(await page.$$eval('[data-testid="log"] .line', (ls) => ls.map((l) => l.lastChild?.textContent))).toEqual([
      'rank 3 step 12345 loss 0.000081',
    ]);
    expect(incidents).toEqual([]);
    await page.close();
  });
});
