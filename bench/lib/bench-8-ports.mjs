// 8. findFreeNetworkPort() in one process: calls/s and duplicates, with tinybench; against torch's own
// get_free_port() and against the floor (an OS-assigned port: bind 127.0.0.1:0, read it, close).
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { Bench } from 'tinybench';
import { findFreeNetworkPort, PORT_HOLD_MS } from './ports-import.mjs';
import { performance } from 'node:perf_hooks';
import { summarize } from './stats.mjs';

export const meta = { id: 8, title: 'Free-port search in one process: calls/s and duplicates', goal: '0 duplicates' };

function osPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Ports seen twice, and ports seen twice within PORT_HOLD_MS of each other. */
function duplicates(calls) {
  const last = new Map();
  let any = 0;
  let withinHold = 0;
  for (const { port, at } of calls) {
    if (last.has(port)) {
      any++;
      if (at - last.get(port) < PORT_HOLD_MS) withinHold++;
    }
    last.set(port, at);
  }
  return { any, withinHold };
}

async function tiny(name, n, fn) {
  const calls = [];
  const bench = new Bench({ iterations: n, time: 0, warmup: false });
  bench.add(name, async () => {
    calls.push({ port: await fn(), at: performance.now() });
  });
  const t0 = performance.now();
  await bench.run();
  const wallMs = performance.now() - t0;
  const r = bench.tasks[0].result;
  if (r.error) throw r.error;
  const samples = r.latency?.samples ?? [];
  return { calls, callsPerS: (1000 * calls.length) / wallMs, samples };
}

// torch 1.13's get_free_port() (torch.distributed.elastic.utils.distributed), timed per call in Python.
const TORCH_LOOP = `import sys, time
from torch.distributed.elastic.utils.distributed import get_free_port
n = int(sys.argv[1]); out = []
for _ in range(n):
    t = time.perf_counter(); p = get_free_port(); out.append("%d %f" % (p, (time.perf_counter() - t) * 1000))
print("\\n".join(out))`;

function torchPorts(python, n) {
  if (!python) return undefined;
  const r = spawnSync(python, ['-c', TORCH_LOOP, String(n)], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) return undefined;
  let at = 0;
  const calls = r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [port, ms] = l.split(' ').map(Number);
      at += ms;
      return { port, at, ms };
    });
  return calls;
}

export async function run(h, cfg) {
  const n = cfg.portCalls;
  const rows = [];
  const notes = [];
  const dupRows = [];
  const seq = await tiny('ddprun', n, findFreeNetworkPort);
  const floor = await tiny('floor', n, osPort);
  const t0 = performance.now();
  const concurrentPorts = await Promise.all(Array.from({ length: n }, () => findFreeNetworkPort()));
  const concMs = performance.now() - t0;
  const torch = torchPorts(h.python, n);
  const add = (contender, variant, res) => {
    const s = summarize(res.samples);
    rows.push({ contender, variant, metric: 'latency per call', unit: 'ms', values: res.samples, summary: s });
    const d = duplicates(res.calls);
    dupRows.push({ contender, variant, callsPerS: res.callsPerS, ...d });
  };
  add('ddprun', `${n} sequential calls`, seq);
  if (torch)
    add('torchrun', `${n} sequential calls`, {
      calls: torch,
      callsPerS: (1000 * n) / torch.at(-1).at,
      samples: torch.map((c) => c.ms),
    });
  else notes.push('torch’s get_free_port() was not measured (no Python with torch).');
  add('floor', `${n} sequential calls`, floor);
  const concDup = concurrentPorts.length - new Set(concurrentPorts).size;
  dupRows.push({
    contender: 'ddprun',
    variant: `${n} concurrent calls (Promise.all)`,
    callsPerS: (1000 * n) / concMs,
    any: concDup,
    withinHold: concDup,
  });
  const ddprunDup = dupRows.filter((r) => r.contender === 'ddprun').reduce((a, r) => a + r.any, 0);
  return {
    ...meta,
    rows,
    extraTable: [
      '| contender | variant | calls/s | duplicate ports | duplicates within 5 s |',
      '| --- | --- | --- | --- | --- |',
      ...dupRows.map(
        (r) => `| ${r.contender} | ${r.variant} | ${r.callsPerS.toFixed(0)} | ${r.any} | ${r.withinHold} |`,
      ),
    ].join('\n'),
    notes: [
      ...notes,
      `ddprun: \`findFreeNetworkPort()\` from dist, timed with tinybench (${n} iterations, no warm-up), then ${n} calls at once. torchrun: torch ${'1.13'}'s \`get_free_port()\` in a Python loop (perf_counter per call). Floor: bind 127.0.0.1:0 in Node, read the port, close (what the Ultralytics seed does) — the OS hands out ephemeral ports, which outgoing connections reuse.`,
      '"Duplicates within 5 s": the same port handed out twice within ddprun’s hold window — the case that makes two launches race for one port.',
    ],
    goal: {
      met: ddprunDup === 0,
      text: `ddprun handed out ${ddprunDup} duplicate port(s) over ${2 * n} calls; goal 0.`,
    },
  };
}
