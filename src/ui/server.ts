import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { RunFiles, listRunSummaries, readRunDetail, stopRecordedRun } from './store-view.js';

export interface DashboardOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to bind. Anything but loopback exposes the runs to the network (the token still guards them). @default '127.0.0.1' */
  host?: string;
  /** The run store's folder. @default the store's own default (DDPRUN_STATE_DIR, XDG_STATE_HOME/ddprun, ~/.local/state/ddprun) */
  stateDir?: string;
  /** The access token; a random one by default. */
  token?: string;
}

export interface Dashboard {
  /** The URL to open, token included. */
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

const COOKIE = 'ddprun_token';
/** The bundled page: beside this module once built; from the sources (tests), in dist/ after `npm run build`. */
const STATIC = [new URL('./static/', import.meta.url), new URL('../../dist/ui/static/', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(dir + 'app.js'))!;
const ASSETS: Record<string, string> = {
  '/static/app.js': 'text/javascript; charset=utf-8',
  '/static/app.css': 'text/css; charset=utf-8',
};
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
/** How often a live view looks at the store's files for news. */
export const POLL_MS = 250;

function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: http.IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return undefined;
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(body);
}

const json = (res: http.ServerResponse, status: number, value: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

const INDEX = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ddprun</title><link rel="stylesheet" href="/static/app.css"></head>
<body><div id="app"></div><script type="module" src="/static/app.js"></script></body></html>
`;

function checkHost(host: string): void {
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host))
    throw new UsageError(`Invalid \`host\` option: expected an address to bind, got ${JSON.stringify(host)}.`);
}

/** Serves the dashboard of the run store; resolves once it listens. */
export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  checkHost(host);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid \`port\` option: expected an integer in 0–65535, got ${String(port)}.`);
  const token = options.token ?? randomBytes(24).toString('hex');
  const csrf = randomBytes(24).toString('hex');
  const files = new RunFiles(options.stateDir);
  const streams = new Set<() => void>();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const given = url.searchParams.get('token') ?? undefined;
    if (given !== undefined && sameSecret(given, token) && req.method === 'GET') {
      // As Jupyter: the token in the URL becomes a cookie, and the URL loses it.
      url.searchParams.delete('token');
      res.writeHead(302, {
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        location: url.pathname + url.search,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    if (!sameSecret(cookieToken(req), token)) {
      send(
        res,
        401,
        'text/plain; charset=utf-8',
        'ddprun dashboard: open the URL that `ddprun ui` printed (with its token).\n',
      );
      return;
    }
    if (req.method === 'POST') return post(req, res, url);
    if (req.method !== 'GET') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', INDEX);
    if (url.pathname === '/favicon.ico') return send(res, 204, 'text/plain', '');
    const asset = ASSETS[url.pathname];
    if (asset) return send(res, 200, asset, await readFile(STATIC + url.pathname.slice('/static/'.length)));
    if (url.pathname === '/api/session') return json(res, 200, { csrf });
    if (url.pathname === '/api/runs') return json(res, 200, await listRunSummaries(files));
    if (url.pathname === '/api/stream') return streamRuns(req, res);
    const m = /^\/api\/runs\/([^/]+)(\/stream|\/log)?$/.exec(url.pathname);
    if (m) {
      const id = files.idOf(decodeURIComponent(m[1]!));
      if (!id) return json(res, 404, { error: 'no such run' });
      if (m[2] === '/stream') return streamRun(req, res, id);
      if (m[2] === '/log') return json(res, 200, await files.logBefore(id, url.searchParams));
      const detail = await readRunDetail(files, id);
      return detail ? json(res, 200, detail) : json(res, 404, { error: 'no such run' });
    }
    json(res, 404, { error: 'not found' });
  }

  async function post(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    // CSRF: a secret header only our own page can read (SameSite=Strict cookie besides), and no foreign Origin.
    const origin = req.headers.origin;
    if (
      !sameSecret(req.headers['x-ddprun-csrf'] as string | undefined, csrf) ||
      (origin && origin !== `http://${req.headers.host}`)
    )
      return json(res, 403, { error: 'missing or wrong CSRF token' });
    const m = /^\/api\/runs\/([^/]+)\/stop$/.exec(url.pathname);
    const id = m ? files.idOf(decodeURIComponent(m[1]!)) : undefined;
    if (!id) return json(res, 404, { error: 'no such run' });
    const outcome = await stopRecordedRun(files, id);
    json(res, outcome.ok ? 200 : 409, outcome);
  }

  function openStream(req: http.IncomingMessage, res: http.ServerResponse, tick: (push: Push) => Promise<void>): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
    });
    const push: Push = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let busy = false;
    const run = (): void => {
      if (busy) return;
      busy = true;
      tick(push)
        .catch(() => undefined) // a half-written or vanished file is read again next time
        .finally(() => (busy = false));
    };
    const timer = setInterval(run, POLL_MS);
    const stop = (): void => {
      clearInterval(timer);
      streams.delete(stop);
      res.end();
    };
    streams.add(stop);
    req.on('close', stop);
    run();
  }

  function streamRuns(req: http.IncomingMessage, res: http.ServerResponse): void {
    let last = '';
    openStream(req, res, async (push) => {
      const runs = JSON.stringify(await listRunSummaries(files));
      if (runs !== last) push('runs', JSON.parse(runs));
      last = runs;
    });
  }

  function streamRun(req: http.IncomingMessage, res: http.ServerResponse, id: string): void {
    const follower = files.follow(id);
    openStream(req, res, (push) => follower.tick(push));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/?token=${token}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stop of [...streams]) stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

export type Push = (event: string, data: unknown) => void;
