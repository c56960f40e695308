// The dashboard under many event-stream clients (#22 item 10): a real `startDashboard` server in its own process,
// N real SSE clients (one socket each) on one run's live view. Reports how long until all are connected and have the
// run's log, how long /api/runs takes while they are open, and the server's RSS before, at the peak and after they
// close.
//
//   node bench/dashboard-clients.mjs [--clients 200] [--lines 10000] [--dist dist] [--route run|runs]
//
// --dist picks the build to measure (e.g. another checkout's dist/ for a before/after figure).
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    lines: { type: 'string', default: '10000' },
    dist: { type: 'string', default: 'dist' },
    route: { type: 'string', default: 'run' },
  },
});
const CLIENTS = Number(values.clients);
const LINES = Number(values.lines);
const ID = '20261207-150000-b2b2';

/** A store with one running run: its record, a few events and a log of LINES lines. */
function store() {
  const state = mkdtempSync(path.join(os.tmpdir(), 'ddprun-bench-ui-'));
  const dir = path.join(state, 'runs', ID);
  mkdirSync(path.join(dir, 'logs', 'attempt_0', '0'), { recursive: true, mode: 0o700 });
  const record = {
    schema: 1,
    id: ID,
    argv: ['ddprun', 'train.py'],
    source: 'cli',
    options: {},
    cwd: '/work',
    host: 'box',
    user: 'me',
    version: '0.0.0',
    launcher: { pid: process.pid, startTime: null, bootId: null },
    nprocPerNode: 1,
    worldSize: 1,
    maxRestarts: 0,
    attempt: 0,
    logDir: null,
    maxLogBytes: 0,
    startedAt: new Date().toISOString(),
    status: 'running',
  };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record));
  const events = Array.from({ length: 1000 }, (_, i) =>
    JSON.stringify({ v: 1, t: new Date().toISOString(), event: 'resources', rank: 0, cpu: i % 100, rssBytes: 1e8 }),
  );
  writeFileSync(path.join(dir, 'events.jsonl'), events.join('\n') + '\n');
  const log = Array.from({ length: LINES }, (_, i) => `epoch 1 batch ${i}: loss 0.${String(i).padStart(5, '0')}\n`);
  writeFileSync(path.join(dir, 'logs', 'attempt_0', '0', 'stdout.log'), log.join(''));
  return state;
}

const SERVER = `
const { startDashboard } = await import(process.argv[1]);
const d = await startDashboard({ stateDir: process.argv[2] });
process.stdout.write(JSON.stringify({ url: d.url, token: d.token }) + '\\n');
process.stdin.on('end', () => d.close().then(() => process.exit(0)));
process.stdin.resume();
`;

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sse(origin, token, route) {
  const client = { status: 0, bytes: 0, logFrames: 0, req: undefined };
  client.req = http.get(`${origin}${route}`, { agent: false, headers: { cookie: `ddprun_token=${token}` } }, (res) => {
    client.status = res.statusCode;
    res.on('data', (chunk) => {
      client.bytes += chunk.length;
      if (chunk.includes('event: log\n') || chunk.includes('event: runs\n')) client.logFrames++;
    });
    res.on('error', () => undefined);
  });
  client.req.on('error', () => (client.status = -1));
  return client;
}

// Timed by curl in a process of its own: this one is busy reading 200 streams, and would time itself.
function timeGet(origin, token, route) {
  return new Promise((resolve) => {
    const args = [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{time_total}',
      '-H',
      `cookie: ddprun_token=${token}`,
      origin + route,
    ];
    execFile('curl', args, (error, stdout) => resolve(error ? NaN : Number(stdout) * 1000));
  });
}

async function main() {
  const state = store();
  const entry = path.resolve(values.dist, 'index.js');
  const server = spawn(process.execPath, ['--input-type=module', '-e', SERVER, entry, state], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const { url, token } = await new Promise((resolve) => server.stdout.once('data', (b) => resolve(JSON.parse(b))));
  const origin = new URL(url).origin;
  const route = values.route === 'runs' ? '/api/stream' : `/api/runs/${ID}/stream`;
  try {
    await timeGet(origin, token, '/api/runs');
    await sleep(1000);
    const before = rssMiB(server.pid);
    const started = performance.now();
    const clients = Array.from({ length: CLIENTS }, () => sse(origin, token, route));
    const duringStorm = timeGet(origin, token, '/api/runs'); // sent while the clients connect
    let connectedMs;
    let servedMs;
    let peak = before;
    const runsMs = [];
    while (performance.now() - started < 60_000) {
      peak = Math.max(peak, rssMiB(server.pid));
      const now = performance.now() - started;
      if (connectedMs === undefined && clients.every((c) => c.status !== 0)) connectedMs = now;
      if (servedMs === undefined && clients.every((c) => c.logFrames > 0)) servedMs = now;
      if (servedMs !== undefined && runsMs.length < 5) {
        await sleep(runsMs.length ? 200 : 2000); // first, 2 s for the backlogs to be taken
        runsMs.push(await timeGet(origin, token, '/api/runs'));
      }
      if (servedMs !== undefined && runsMs.length >= 5) break;
      await sleep(20);
    }
    if (runsMs.length === 0) runsMs.push(await timeGet(origin, token, '/api/runs'));
    const stormMs = await duringStorm;
    const at8s = clients.filter((c) => c.logFrames > 0).length;
    const statuses = {};
    for (const c of clients) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
    for (const c of clients) c.req.destroy();
    await sleep(5000);
    const after = rssMiB(server.pid);
    runsMs.sort((a, b) => a - b);
    const fmt = (v) => (v === undefined ? 'never (60 s)' : `${Math.round(v)} ms`);
    console.log(`dist: ${values.dist}; ${CLIENTS} clients on ${route}; a log of ${LINES} lines, 1000 events`);
    console.log(`statuses: ${JSON.stringify(statuses)}; clients with their first data: ${at8s}/${CLIENTS}`);
    console.log(`all answered: ${fmt(connectedMs)}; all had their first data: ${fmt(servedMs)}`);
    console.log(`/api/runs sent as they connect: ${fmt(stormMs)}`);
    console.log(
      `/api/runs from 2 s after all were served: median ${fmt(runsMs[runsMs.length >> 1])}, max ${fmt(runsMs.at(-1))}`,
    );
    console.log(
      `server RSS: ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak, ${after.toFixed(0)} MiB 5 s after they closed`,
    );
  } finally {
    server.stdin.end();
    await new Promise((r) => server.once('exit', r));
    rmSync(state, { recursive: true, force: true });
  }
}

await main();
