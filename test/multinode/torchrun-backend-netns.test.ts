import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { netnsSkipReason, type TwoNodeNetwork } from '../helpers/netns.js';
import { startDdprun, sums, useTwoNodeNetworks, within } from '../helpers/node-process.js';
import { torchPython } from './torch-python.js';

const ALLREDUCE = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const RDZV_PORT = 29400; // each namespace has its own port space
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

/** `ddprun --backend torchrun` options of a c10d job whose store is on node 0: no --master-addr, no --node-rank. */
function c10dArgs(net: TwoNodeNetwork, nnodes: string, extra: readonly string[] = []): string[] {
  return [
    ...['--backend', 'torchrun', '--python', found.python!, ...extra],
    ...['--nnodes', nnodes, '--nproc-per-node', '2'],
    ...[
      '--rdzv-backend',
      'c10d',
      '--rdzv-endpoint',
      `${net.nodes[0].addr}:${RDZV_PORT}`,
      '--rdzv-id',
      'netns',
      '--rdzv-timeout',
      '60',
    ],
    ALLREDUCE,
  ];
}

interface LineEvent {
  event: 'line';
  rank: number;
  localRank: number;
  text: string;
}

/** The tag ddprun gives a rank's line: its global rank, or -1 where torchrun does not say (torch < 2.3 under c10d). */
function expectTagged(e: LineEvent, where: string): void {
  const rank = Number(/ rank=(\d+)/.exec(e.text)![1]);
  const localRank = Number(/ local_rank=(\d+)/.exec(e.text)![1]);
  expect(e.localRank, `${where}: ${e.text}`).toBe(localRank);
  expect([rank, -1], `${where}: ${e.text}`).toContain(e.rank);
}

function allreduceLines(stdout: string): LineEvent[] {
  return stdout
    .split('\n')
    .filter((line) => line.includes(',"event":"line",'))
    .map((line) => JSON.parse(line) as LineEvent)
    .filter((e) => e.text.startsWith('allreduce '));
}

// torch 1.13's c10d agents give the workers MASTER_ADDR = the group-rank-0 agent's host name: each node needs a host
// name that resolves to its address (`hostnames: true`), as on a real cluster. The environment names no interface
// (startDdprun drops GLOO_SOCKET_IFNAME): ddprun sets it, to the interface that routes to the rendezvous endpoint.
describe.skipIf(skip !== undefined)(
  `ddprun --backend torchrun across two network namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const { createNetwork, procs } = useTwoNodeNetworks();

    it('runs 2 nodes × 2 ranks of a gloo all-reduce with a c10d rendezvous at node 0, each line tagged with its rank', async () => {
      const net = await createNetwork({ hostnames: true });
      const runs = ([0, 1] as const).map((node) => startDdprun(net, node, c10dArgs(net, '2', ['--json'])));
      procs.push(...runs);
      const exits = await within(Promise.all(runs.map((p) => p.exit)), 90_000, 'the 2 × 2 job finishing');
      for (const node of [0, 1] as const) {
        const { hostname, ifname } = net.nodes[node];
        expect(exits[node], `node ${node} stderr:\n${runs[node]!.stderr}`).toEqual({ code: 0, signal: null });
        // Each rank ran on its node, on the veth that routes to the rendezvous endpoint.
        expect(runs[node]!.stdout).toContain(`host=${hostname} ifname=${ifname}"`);
      }
      // c10d assigns the group ranks: either node may get ranks 0 and 1.
      expect([...sums(runs[0]!.stdout), ...sums(runs[1]!.stdout)].sort()).toEqual(['0:10', '1:10', '2:10', '3:10']);
      for (const [node, p] of runs.entries()) {
        const lines = allreduceLines(p.stdout);
        expect(lines).toHaveLength(2);
        for (const e of lines) expectTagged(e, `node ${node}`);
      }
    });

    it('runs an elastic --nnodes 1:2 job that starts with one node and completes, printing rank-tagged lines', async () => {
      const net = await createNetwork({ hostnames: true });
      // Once the minimum has joined, torch's c10d rendezvous waits its last-call timeout for more nodes: 1 s here,
      // not the 30 s default, which this test would only sit through.
      const node0 = startDdprun(net, 0, c10dArgs(net, '1:2', ['--rdzv-conf', 'last_call_timeout=1']));
      procs.push(node0);
      const exit = await within(node0.exit, 100_000, 'the one-node elastic job finishing');
      expect(exit, node0.stderr).toEqual({ code: 0, signal: null });
      const lines = node0.stdout
        .split('\n')
        .filter((line) => line.includes('allreduce '))
        .sort();
      // Global ranks in the tag from torch 2.3's prefix template; before, under c10d, the local rank (`[local0]:`).
      expect(lines).toEqual([
        expect.stringMatching(/^\[(rank|local)0\]:allreduce rank=0 local_rank=0 world=2 sum=3 /),
        expect.stringMatching(/^\[(rank|local)1\]:allreduce rank=1 local_rank=1 world=2 sum=3 /),
      ]);
    });
  },
);
