import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeTorch } from '../../src/python/find-python.js';
import { torchrunArgv } from '../../src/launch/torchrun/argv.js';
import type { ResolvedOptions } from '../../src/model/types.js';
import { createTwoNodeNetwork, netnsSkipReason, sweepStaleNamespaces, type TwoNodeNetwork } from '../helpers/netns.js';
import { backendEntryArgv, resolvedOptions } from '../helpers/resolved.js';
import { torchPython } from './torch-python.js';

const WORKER = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

function nodeOptions(
  python: string,
  torchVersion: string,
  net: TwoNodeNetwork,
  nodeRank: number,
  rdzvBackend: 'static' | 'c10d',
): ResolvedOptions {
  return resolvedOptions({
    entry: { script: WORKER },
    python,
    torchVersion,
    minNodes: 2,
    maxNodes: 2,
    nodeRank,
    masterAddr: net.nodes[0].addr,
    masterPort: 29400,
    runId: 'netns',
    cwd: process.cwd(),
    rdzvTimeoutMs: 60_000,
    rdzvBackend,
    rdzvId: 'netns',
    socketIfname: net.nodes[nodeRank]!.ifname,
    runDir: '/tmp',
  });
}

/** Runs torchrun on both nodes, as ddprun's torchrun backend will, and returns each node's exit code and output. */
async function runOnBothNodes(net: TwoNodeNetwork, rdzvBackend: 'static' | 'c10d') {
  const python = found.python!;
  const torch = await probeTorch(python);
  const run = (node: 0 | 1) => {
    const argv = net.exec(
      node,
      torchrunArgv(nodeOptions(python, torch.version, net, node, rdzvBackend), backendEntryArgv({ script: WORKER }), {
        pythonVersion: torch.pythonVersion,
        rdzvHost: node === 0,
      }),
    );
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        GLOO_SOCKET_IFNAME: net.nodes[node].ifname,
        OMP_NUM_THREADS: '1',
        ALLREDUCE_TIMEOUT_S: '30',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise<{ code: number | null; output: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, output })),
    );
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error('torchrun did not finish within 90 s')), 90_000)),
  );
  return Promise.race([Promise.all([run(0), run(1)]), timeout]).finally(() => clearTimeout(timer));
}

function sums(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('allreduce '))
    .map((line) => / rank=(\d) .* sum=(\d+) /.exec(line)!.slice(1).join(':'))
    .sort();
}

describe.skipIf(skip !== undefined)(
  `torchrunArgv across two network namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let net: TwoNodeNetwork | undefined;

    beforeAll(async () => {
      await sweepStaleNamespaces();
    });

    afterEach(async () => {
      await net?.destroy();
      net = undefined;
    });

    it('runs the 2 × 2 all-reduce with a static rendezvous at node 0', async () => {
      net = await createTwoNodeNetwork();
      const [node0, node1] = await runOnBothNodes(net, 'static');
      expect(node0.code, node0.output).toBe(0);
      expect(node1.code, node1.output).toBe(0);
      expect(sums(node0.output)).toEqual(['0:10', '1:10']);
      expect(sums(node1.output)).toEqual(['2:10', '3:10']);
    });

    // torch 1.13's agents give the workers MASTER_ADDR = the group-rank-0 agent's host name: the nodes need
    // host names that resolve to their addresses, as on a real cluster.
    it('runs the 2 × 2 all-reduce with a c10d rendezvous when each node has its own resolvable host name', async () => {
      net = await createTwoNodeNetwork({ hostnames: true });
      const [node0, node1] = await runOnBothNodes(net, 'c10d');
      expect(node0.code, node0.output).toBe(0);
      expect(node1.code, node1.output).toBe(0);
      // c10d assigns the group ranks: either node may get ranks 0 and 1.
      expect([...sums(node0.output), ...sums(node1.output)].sort()).toEqual(['0:10', '1:10', '2:10', '3:10']);
    });
  },
);
