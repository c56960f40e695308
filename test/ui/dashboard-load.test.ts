import { appendFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../../src/ui/server.js';
import { Feeds } from '../../src/ui/sse.js';
import type { FeedSource } from '../../src/ui/run-feed.js';
import { until } from '../helpers/procs.js';
import { fakeStore } from './browser.js';

// Issue #22 item 10: 200 event-stream clients on one run. Each must connect and get the run, its events and its
// log; news reaches every one of them once, in order; the 201st is refused with a clear 503; /api/runs answers
// meanwhile; and they share one reading of the store's files (its figures: bench/dashboard-clients.mjs).

const ID = '20261207-150000-a1a1';
const CLIENTS = 200;
const BACKLOG = Array.from({ length: 50 }, (_, i) => `backlog line ${i}`);

interface Frame {
  event: string;
  data: unknown;
}

/** A real SSE client on its own socket: the frames it got, the status, and how to close it. */
interface Client {
  status: Promise<number>;
  frames: Frame[];
  body: () => string;
  close: () => void;
}

function connect(origin: string, token: string, route: string): Client {
  const frames: Frame[] = [];
  let text = '';
  let req: http.ClientRequest;
  const status = new Promise<number>((resolve, reject) => {
    req = http.get(`${origin}${route}`, { agent: false, headers: { cookie: `ddprun_token=${token}` } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) frames.push({ event, data: JSON.parse(data) as unknown });
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
  });
  return { status, frames, body: () => text, close: () => req.destroy() };
}

/** The log lines a client got, in order. */
const linesOf = (c: Client): string[] =>
  c.frames.filter((f) => f.event === 'log').flatMap((f) => (f.data as { lines: string[] }).lines);

const store = fakeStore([
  {
    id: ID,
    run: { status: 'running', launcher: { pid: process.pid, startTime: null, bootId: null } },
    events: [{ event: 'started', rank: 0, pid: 1 }],
    logs: { '0/0/stdout': BACKLOG.map((l) => `${l}\n`).join('') },
  },
]);
const stdout = path.join(store.stateDir, 'runs', ID, 'logs', 'attempt_0', '0', 'stdout.log');
let dashboard: Dashboard;
let origin: string;

beforeAll(async () => {
  dashboard = await startDashboard({ stateDir: store.stateDir, maxClients: CLIENTS });
  origin = new URL(dashboard.url).origin;
});
afterAll(async () => {
  await dashboard?.close();
  store.cleanup();
});

describe('the dashboard under 200 event-stream clients', () => {
  it('serves all 200 the same stream, refuses the 201st with 503, and answers /api/runs meanwhile', async () => {
    const clients = Array.from({ length: CLIENTS }, () => connect(origin, dashboard.token, `/api/runs/${ID}/stream`));
    expect(await Promise.all(clients.map((c) => c.status))).toEqual(Array(CLIENTS).fill(200));
    await until('every client to get the backlog', () => clients.every((c) => linesOf(c).length >= BACKLOG.length), {
      timeoutMs: 60_000,
    });
    for (const c of clients) {
      expect(c.frames.find((f) => f.event === 'run')?.data).toMatchObject({ id: ID });
      expect(c.frames.filter((f) => f.event === 'events').flatMap((f) => f.data as unknown[])).toHaveLength(1);
      expect(linesOf(c)).toEqual(BACKLOG);
    }

    // One more live view (of this run or the runs page) is past the bound: a 503 that says why.
    for (const route of [`/api/runs/${ID}/stream`, '/api/stream']) {
      const extra = connect(origin, dashboard.token, route);
      expect(await extra.status).toBe(503);
      await until('the refusal body', () => extra.body().includes('live views'));
      expect(JSON.parse(extra.body())).toEqual({
        error: `the dashboard already serves ${CLIENTS} live views (its bound); close some of its tabs or try again later`,
      });
      extra.close();
    }

    const list = await fetch(`${origin}/api/runs`, { headers: { cookie: `ddprun_token=${dashboard.token}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { id: string }[]).map((r) => r.id)).toEqual([ID]);

    // New output reaches every client exactly once, after the backlog, in order.
    const news = Array.from({ length: 20 }, (_, i) => `news line ${i}`);
    appendFileSync(stdout, news.map((l) => `${l}\n`).join(''));
    await until('every client to get the news', () => clients.every((c) => linesOf(c).length >= 70), {
      timeoutMs: 60_000,
    });
    for (const c of clients) expect(linesOf(c)).toEqual([...BACKLOG, ...news]);

    // Closed clients free their places: a later one connects and starts from the newest state.
    for (const c of clients) c.close();
    const later = await until(
      'a place to be free again',
      async () => {
        const c = connect(origin, dashboard.token, `/api/runs/${ID}/stream`);
        if ((await c.status) === 200) return c;
        c.close();
        return undefined;
      },
      { timeoutMs: 30_000 },
    );
    await until('the later client to get the log', () => linesOf(later).length >= 70);
    expect(linesOf(later)).toEqual([...BACKLOG, ...news]);
    later.close();
  });

  it('reads the store once per poll for all clients of one view, and lets the view go when they leave', async () => {
    const made: string[] = [];
    let ticks = 0;
    const feeds = new Feeds(CLIENTS);
    const source = (key: string): FeedSource => {
      made.push(key);
      return {
        tick: (push) => {
          push('tick', ++ticks);
          return Promise.resolve();
        },
        snapshot: (push) => {
          push('hello', key);
          return Promise.resolve();
        },
      };
    };
    const server = http.createServer((req, res) => feeds.open(req.url!, () => source(req.url!), res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const clients = Array.from({ length: CLIENTS }, (_, i) => connect(at, '', i % 2 ? '/a' : '/b'));
      await Promise.all(clients.map((c) => c.status));
      await until('every client to get its snapshot and a tick after it', () =>
        clients.every((c) => c.frames[0]?.event === 'hello' && c.frames.some((f) => f.event === 'tick')),
      );
      // Two views, two sources, whatever the number of clients: each tick goes to all of a view's clients.
      expect(made.sort()).toEqual(['/a', '/b']);
      for (const c of clients) c.close();
      await until('the views to be let go', async () => {
        const c = connect(at, '', '/a');
        await c.status;
        await until('its snapshot', () => c.frames.length > 0);
        c.close();
        return made.length === 3;
      });
    } finally {
      feeds.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
