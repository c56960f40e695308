import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`, done by `npm run setup`); playwright's own downloads cannot work here. */
export const CHROMIUM = process.env.DDPRUN_CHROMIUM ?? '/usr/bin/chromium';

/** Under CI a missing browser fails the test; elsewhere the caller skips with this reason. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI) throw new Error(`no Chromium at ${CHROMIUM}: run \`npm run setup\` (apt-get install chromium)`);
  return `no Chromium at ${CHROMIUM} (set CI=1 to make this a failure)`;
}

export function launchBrowser(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/** A page that records what must never happen: dialogs (alert/confirm), script errors, console errors. */
export async function watchedPage(
  browser: Browser,
  options: { timezoneId?: string; locale?: string } = {},
): Promise<{ page: Page; incidents: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 }, ...options });
  const incidents: string[] = [];
  page.on('dialog', (d) => {
    incidents.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => incidents.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') incidents.push(`console error: ${m.text()}`);
  });
  return { page, incidents };
}

/** Pixels of a chart's canvas that are not background: 0 means nothing was drawn. */
export function inkedPixels(page: Page, testid: string): Promise<number> {
  return page.$eval(`[data-testid="${testid}"] canvas`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && (data[i]! < 200 || data[i + 1]! < 200)) n++;
    return n;
  });
}

/** Where the test run leaves its screenshots (git-ignored). */
export const ARTIFACTS = path.resolve('test-artifacts');
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

export interface FakeRun {
  id: string;
  run: Record<string, unknown>;
  events?: Record<string, unknown>[];
  /** `attempt/rank/stream` → bytes. */
  logs?: Record<string, string | Buffer>;
}

/** A store folder with runs written as the recorder writes them (run.json, events.jsonl, logs/). */
/** The fields every run.json has (the store refuses a record without them), for a fake run to override. */
function recordDefaults(id: string): Record<string, unknown> {
  return {
    schema: 1,
    id,
    argv: ['ddprun', 'train.py'],
    source: 'cli',
    options: {},
    cwd: '/work',
    host: 'box',
    user: 'me',
    version: '0.0.0',
    launcher: { pid: 999_999, startTime: 1, bootId: null },
    nprocPerNode: 1,
    worldSize: 1,
    maxRestarts: 0,
    attempt: 0,
    logDir: null,
    maxLogBytes: 0,
    startedAt: '2026-12-02T07:00:00.000Z',
    status: 'succeeded',
  };
}

export function fakeStore(runs: FakeRun[]): { stateDir: string; cleanup: () => void; write: (r: FakeRun) => void } {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-ui-'));
  const write = (r: FakeRun): void => {
    const dir = path.join(stateDir, 'runs', r.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...recordDefaults(r.id), ...r.run }));
    writeFileSync(
      path.join(dir, 'events.jsonl'),
      (r.events ?? []).map((e) => JSON.stringify({ v: 1, t: new Date().toISOString(), ...e })).join('\n') + '\n',
    );
    for (const [key, bytes] of Object.entries(r.logs ?? {})) {
      const [attempt, rank, stream] = key.split('/');
      const logDir = path.join(dir, 'logs', `attempt_${attempt}`, rank!);
      mkdirSync(logDir, { recursive: true });
      writeFileSync(path.join(logDir, `${stream}.log`), bytes);
    }
  };
  for (const r of runs) write(r);
  return { stateDir, write, cleanup: () => rmSync(stateDir, { recursive: true, force: true }) };
}
