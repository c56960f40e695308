import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { json, send } from './respond.js';
import { RunFeed, RunsFeed } from './run-feed.js';
import { Feeds, MAX_CLIENTS } from './sse.js';
import { RunFiles, listRunSummaries, readRunDetail, stopRecordedRun } from './store-view.js';

export interface DashboardOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * Address to bind. Anything but loopback exposes the runs to the network (the token still guards them).
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The run store's folder. @default the store's own default (DDPRUN_STATE_DIR, XDG_STATE_HOME/ddprun,
   * ~/.local/state/ddprun)
   */
  stateDir?: string;
  /** The access token; a random one by default. */
  token?: string;
  /**
   * Live views (event streams: the runs page, a run's page) served at once; one more is refused with 503. All the
   * clients of one view share one reading of the store's files. @default 256
   */
  maxClients?: number;
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
const INDEX = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ddprun</title><link rel="stylesheet" href="/static/app.css"></head>
<body><div id="app"></div><script type="module" src="/static/app.js"></script></body></html>
`;

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

function checkHost(host: string): void {
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host))
    throw new UsageError(`Invalid \`host\` option: expected an address to bind, got ${JSON.stringify(host)}.`);
}

interface Context {
  token: string;
  csrf: string;
  files: RunFiles;
  feeds: Feeds;
}

/** Serves the dashboard of the run store; resolves once it listens. */
export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  checkHost(host);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid \`port\` option: expected an integer in 0–65535, got ${String(port)}.`);
  const maxClients = options.maxClients ?? MAX_CLIENTS;
  if (!Number.isSafeInteger(maxClients) || maxClients < 1)
    throw new UsageError(`Invalid \`maxClients\` option: expected an integer from 1 up, got ${String(maxClients)}.`);
  const ctx: Context = {
    token: options.token ?? randomBytes(24).toString('hex'),
    csrf: randomBytes(24).toString('hex'),
    files: new RunFiles(options.stateDir),
    feeds: new Feeds(maxClients),
  };
  const server = http.createServer((req, res) => {
    handle(ctx, req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/?token=${ctx.token}`,
    token: ctx.token,
    close: () =>
      new Promise<void>((resolve) => {
        ctx.feeds.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Checks the token (URL once, then the cookie), then routes by method. */
async function handle(ctx: Context, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dashboard');
  const given = url.searchParams.get('token') ?? undefined;
  if (given !== undefined && sameSecret(given, ctx.token) && req.method === 'GET') {
    // As Jupyter: the token in the URL becomes a cookie, and the URL loses it.
    url.searchParams.delete('token');
    res.writeHead(302, {
      'set-cookie': `${COOKIE}=${ctx.token}; HttpOnly; SameSite=Strict; Path=/`,
      location: url.pathname + url.search,
      'cache-control': 'no-store',
    });
    res.end();
    return;
  }
  if (!sameSecret(cookieToken(req), ctx.token)) {
    send(
      res,
      401,
      'text/plain; charset=utf-8',
      'ddprun dashboard: open the URL that `ddprun ui` printed (with its token).\n',
    );
    return;
  }
  if (req.method === 'POST') return post(ctx, req, res, url);
  if (req.method !== 'GET') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  return get(ctx, res, url);
}

/** The page, its assets and the read-only API. */
async function get(ctx: Context, res: http.ServerResponse, url: URL): Promise<void> {
  const { files, feeds } = ctx;
  if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', INDEX);
  if (url.pathname === '/favicon.ico') return send(res, 204, 'text/plain', '');
  const asset = ASSETS[url.pathname];
  if (asset) return send(res, 200, asset, await readFile(STATIC + url.pathname.slice('/static/'.length)));
  if (url.pathname === '/api/session') return json(res, 200, { csrf: ctx.csrf });
  if (url.pathname === '/api/runs') return json(res, 200, await listRunSummaries(files));
  if (url.pathname === '/api/stream') return feeds.open('runs', () => new RunsFeed(files), res);
  const m = /^\/api\/runs\/([^/]+)(\/stream|\/log)?$/.exec(url.pathname);
  if (m) {
    const id = files.idOf(decodeURIComponent(m[1]!));
    if (!id) return json(res, 404, { error: 'no such run' });
    if (m[2] === '/stream') return feeds.open(`run/${id}`, () => new RunFeed(files, id), res);
    if (m[2] === '/log') return json(res, 200, await files.logBefore(id, url.searchParams));
    const detail = await readRunDetail(files, id);
    return detail ? json(res, 200, detail) : json(res, 404, { error: 'no such run' });
  }
  json(res, 404, { error: 'not found' });
}

/** `POST /api/runs/<id>/stop`, behind the CSRF check. */
async function post(ctx: Context, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  // CSRF: a secret header only our own page can read (SameSite=Strict cookie besides), and no foreign Origin.
  const origin = req.headers.origin;
  if (
    !sameSecret(req.headers['x-ddprun-csrf'] as string | undefined, ctx.csrf) ||
    (origin && origin !== `http://${req.headers.host}`)
  )
    return json(res, 403, { error: 'missing or wrong CSRF token' });
  const m = /^\/api\/runs\/([^/]+)\/stop$/.exec(url.pathname);
  const id = m ? ctx.files.idOf(decodeURIComponent(m[1]!)) : undefined;
  if (!id) return json(res, 404, { error: 'no such run' });
  const outcome = await stopRecordedRun(ctx.files, id);
  json(res, outcome.ok ? 200 : 409, outcome);
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
