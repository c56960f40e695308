import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { type Dashboard, launch, listRuns, startDashboard } from 'ddprun';
import { FIXTURES, TORCH_SKIP_REASON, torchPython } from '../helpers/python.js';
import { readPids, tempDir, until, waitGone } from '../helpers/procs.js';
import { artifact, browserMissing, inkedPixels, launchBrowser, watchedPage } from './browser.js';
import { CLI, ensureBuilt } from '../cli/helpers.js';

const python = await torchPython();
const skip = browserMissing() ?? (python ? undefined : TORCH_SKIP_REASON);
const TICKER = path.join(FIXTURES, 'ui', 'ticker.py');
const SLEEPER = path.join(FIXTURES, 'launch', 'sleeper.py');

let dashboard: Dashboard;
let browser: Browser;
const base = (): string => dashboard.url.replace(/\/\?token=.*/, '');

beforeAll(async () => {
  if (skip) return;
  ensureBuilt();
  // The test file's own store (test/setup-state-dir.ts): the launches below are recorded there.
  dashboard = await startDashboard({ stateDir: process.env.DDPRUN_STATE_DIR! });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
});

describe.skipIf(skip)('ddprun dashboard with live runs', () => {
  it('lists a live 2-rank run, follows both ranks as they print, and turns to succeeded', async () => {
    const { dir, cleanup } = tempDir();
    const { page, incidents } = await watchedPage(browser);
    await page.goto(dashboard.url);
    await page.waitForSelector('[data-testid="runs"]');
    const handle = launch({
      entry: { script: TICKER, args: [path.join(dir, 'enough')] },
      nprocPerNode: 2,
      python: python!,
      console: false,
    });
    const startedAt = Date.now();
    await new Promise((resolve) => handle.on('started', resolve));
    const id = handle.runId!;
    await page.waitForSelector(`[data-run="${id}"]`);
    const listedAfterMs = Date.now() - startedAt;
    await page.click(`[data-run="${id}"] a`);
    for (const rank of [0, 1]) await page.waitForSelector(`.line[data-rank="${rank}"] >> text=/tick \\d+/`);
    const ticks = async (): Promise<number> =>
      page.$$eval('.line', (ls) => ls.filter((l) => / tick /.test(l.textContent ?? '')).length);
    const before = await ticks();
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('.line')].filter((l) => / tick /.test(l.textContent ?? '')).length > n + 4,
      before,
    );
    expect(await page.textContent('[data-testid="status"]')).toBe('running');
    expect(
      await page.$$eval('[data-testid="ranks"] tr[data-rank]', (rs) => rs.map((r) => r.getAttribute('data-rank'))),
    ).toEqual(['0', '1']);
    // The resource sampler's events reach the page: CPU and RSS charts draw, one series per rank.
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="cpu-chart"]')?.getAttribute('data-points')) >= 2,
    );
    expect(await inkedPixels(page, 'cpu-chart')).toBeGreaterThan(100);
    expect(await inkedPixels(page, 'rss-chart')).toBeGreaterThan(100);
    expect(await page.isHidden('[data-testid="training"]')).toBe(true); // not a trainer run
    await page.screenshot({ path: artifact('dashboard-live-run.png'), fullPage: true });
    writeFileSync(path.join(dir, 'enough'), '');
    expect((await handle.result).exitCode).toBe(0);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'succeeded');
    expect(await page.textContent('[data-testid="log"]')).toContain('rank 1 sum 3');
    console.log(`dashboard: the run was listed ${listedAfterMs} ms after its first rank started`);
    expect(incidents).toEqual([]);
    await page.close();
    cleanup();
  });

  it('stops a live run from its page, after a confirmation, and the OS has none of its pids left', async () => {
    const { dir, cleanup } = tempDir();
    const { page, incidents } = await watchedPage(browser);
    // A real launcher process (the CLI), as `ddprun stop` would find it: stopping signals the launcher.
    const cli = spawn(process.execPath, [CLI, '--nproc-per-node', '2', SLEEPER, dir], {
      stdio: 'ignore',
      env: process.env,
    });
    const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    await until(
      'both ranks and the run’s record',
      () => readdirSync(dir).length === 2 && listRuns().some((r) => r.launcher.pid === cli.pid),
    );
    const run = listRuns().find((r) => r.launcher.pid === cli.pid)!;
    const pids = readPids(dir);
    await page.goto(dashboard.url);
    await page.goto(`${base()}/#/run/${run.id}`);
    await page.click('[data-testid="stop"]');
    expect(await page.textContent('[data-testid="stop-message"]')).toContain('SIGTERM');
    await page.click('[data-testid="stop-confirm"]');
    expect(await exited).toBe(143);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'stopped');
    expect(await waitGone(pids)).toEqual([]);
    expect(incidents).toEqual([]);
    await page.close();
    cleanup();
  });
});
