import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTwoNodeNetwork, netnsSkipReason, sweepStaleNamespaces, type TwoNodeNetwork } from '../helpers/netns.js';
import { torchPython } from './torch-python.js';

const WORKER = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

interface Rank {
  rank: number;
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts 2 nodes × 2 ranks of the all-reduce fixture, each with the torchrun env contract. */
function startJob(net: TwoNodeNetwork, python: string, extraEnv: (node: 0 | 1) => Record<string, string>): Rank[] {
  const ranks: Rank[] = [];
  // Only what extraEnv sets: an interface named by the caller's environment would hide the failure.
  const { GLOO_SOCKET_IFNAME: _gloo, NCCL_SOCKET_IFNAME: _nccl, ...base } = process.env;
  for (const node of [0, 1] as const) {
    for (const localRank of [0, 1]) {
      const rank = node * 2 + localRank;
      const argv = net.exec(node, [python, '-u', WORKER]);
      const child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...base,
          RANK: String(rank),
          LOCAL_RANK: String(localRank),
          WORLD_SIZE: '4',
          LOCAL_WORLD_SIZE: '2',
          GROUP_RANK: String(node),
          MASTER_ADDR: net.nodes[0].addr,
          // Each namespace has its own port space: a fixed port cannot clash with another test file.
          MASTER_PORT: '29500',
          OMP_NUM_THREADS: '1',
          ALLREDUCE_TIMEOUT_S: '30',
          ...extraEnv(node),
        },
      });
      const entry: Rank = {
        rank,
        child,
        stdout: '',
        stderr: '',
        exit: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
      };
      child.stdout?.on('data', (chunk: Buffer) => (entry.stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (entry.stderr += chunk.toString()));
      ranks.push(entry);
    }
  }
  return ranks;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip !== undefined)(
  `torch gloo across two network namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let net: TwoNodeNetwork | undefined;
    let ranks: Rank[] = [];

    beforeAll(async () => {
      await sweepStaleNamespaces();
    });

    afterEach(async () => {
      await net?.destroy();
      // destroy() SIGKILLed whatever was left inside; every rank must now be reaped.
      await within(Promise.all(ranks.map((r) => r.exit)), 10_000, 'every rank exiting after destroy()');
      for (const r of ranks) expect(alive(r.child.pid), `rank ${r.rank} pid ${r.child.pid}`).toBe(false);
      if (net)
        expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(net.nodes[0].ns.slice(0, -2));
      net = undefined;
      ranks = [];
    });

    it('all-reduces rank+1 to 10 on every rank of 2 nodes × 2 ranks when GLOO_SOCKET_IFNAME names the veth', async () => {
      net = await createTwoNodeNetwork();
      const network = net;
      ranks = startJob(network, found.python!, (node) => ({ GLOO_SOCKET_IFNAME: network.nodes[node].ifname }));
      const exits = await within(Promise.all(ranks.map((r) => r.exit)), 90_000, 'the 2 × 2 all-reduce finishing');

      for (const [i, r] of ranks.entries()) {
        expect(exits[i], `rank ${r.rank} stderr:\n${r.stderr}`).toEqual({ code: 0, signal: null });
        const node = r.rank < 2 ? 0 : 1;
        expect(r.stdout.trim()).toMatch(
          new RegExp(
            `^allreduce rank=${r.rank} local_rank=${r.rank % 2} world=4 sum=10 host=\\S+ ifname=${network.nodes[node].ifname}$`,
          ),
        );
      }
    });

    // torch 1.13's gloo takes the address of the host name (127.0.0.1 here, as on many clusters) when no
    // interface is named, so each rank tells its peers to reach it at 127.0.0.1. A rank that must connect to
    // a peer on the other node is refused within seconds; which ranks fail varies from run to run (those
    // that only accept wait until killed), so this asserts the first failure, not which rank has it.
    it('fails with "connect [127.0.0.1]:PORT: Connection refused" when GLOO_SOCKET_IFNAME is not set', async () => {
      net = await createTwoNodeNetwork();
      ranks = startJob(net, found.python!, () => ({}));
      const started = Date.now();
      const first = await within(
        Promise.race(ranks.map((r) => r.exit.then((exit) => ({ r, exit })))),
        60_000,
        'a rank failing',
      );
      const refused =
        /RuntimeError: \[[^\]]*gloo\/transport\/tcp\/pair\.cc:\d+\] connect \[127\.0\.0\.1\]:\d+: Connection refused/;
      expect(first.exit, `rank ${first.r.rank} stdout:\n${first.r.stdout}`).toEqual({ code: 1, signal: null });
      expect(first.r.stderr).toMatch(refused);
      expect(Date.now() - started).toBeLessThan(60_000);
      for (const r of ranks) expect(r.stdout).not.toContain('sum=');
      // The ranks still waiting for peers are SIGKILLed by destroy() in afterEach.
    });

    it('all-reduces without GLOO_SOCKET_IFNAME when each node has its own host name resolving to its address', async () => {
      net = await createTwoNodeNetwork({ hostnames: true });
      ranks = startJob(net, found.python!, () => ({}));
      const exits = await within(Promise.all(ranks.map((r) => r.exit)), 90_000, 'the 2 × 2 all-reduce finishing');
      for (const [i, r] of ranks.entries()) {
        expect(exits[i], `rank ${r.rank} stderr:\n${r.stderr}`).toEqual({ code: 0, signal: null });
        expect(r.stdout).toContain(`world=4 sum=10 host=${net.nodes[r.rank < 2 ? 0 : 1].hostname} ifname=\n`);
      }
    });
  },
);
