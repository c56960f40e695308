// Multi-node as torchrun users write it, across the two network namespaces of test/helpers/netns.ts (run under
// `flock /tmp/ddprun-heavy.lock`): the c10d recipe with the same command on every node (no --node-rank, no
// --backend), and the static rendezvous barrier (no node starts a rank until every node joined).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { netnsSkipReason } from '../helpers/netns.js';
import { startDdprun, sums, useTwoNodeNetworks, within } from '../helpers/node-process.js';
import { torchPython } from '../multinode/torch-python.js';

const ALLREDUCE = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const PORT = 29500;
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

describe.skipIf(skip !== undefined)(
  `torchrun recipes across two namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const { createNetwork, procs } = useTwoNodeNetworks();

    it('runs the c10d recipe: the same command on both nodes, the rendezvous assigns node ranks', async () => {
      // Host names that resolve to each node's address, as on a cluster: torch 1.13's agent publishes its host name.
      const network = await createNetwork({ hostnames: true });
      const args = [
        '--python',
        found.python!,
        '--nnodes=2',
        '--nproc-per-node=2',
        '--rdzv-backend=c10d',
        `--rdzv-endpoint=${network.nodes[0].addr}:29400`,
        '--rdzv-id=job',
        ALLREDUCE,
      ];
      const dry = startDdprun(network, 1, ['--dry-run', ...args]);
      procs.push(dry);
      expect(await within(dry.exit, 60_000, 'ddprun --dry-run')).toEqual({ code: 0, signal: null });
      expect(dry.stdout).toContain('backend: torchrun (chosen for --rdzv-backend c10d with no --node-rank');
      const runs = ([0, 1] as const).map((node) => startDdprun(network, node, args));
      procs.push(...runs);
      const exits = await within(Promise.all(runs.map((p) => p.exit)), 180_000, 'the 2 × 2 c10d job');
      for (const [node, exit] of exits.entries())
        expect(exit, `node ${node}:\n${runs[node]!.stderr}`).toEqual({ code: 0, signal: null });
      const all = [...sums(runs[0]!.stdout), ...sums(runs[1]!.stdout)].sort();
      expect(all).toEqual(['0:10', '1:10', '2:10', '3:10']);
    }, 240_000);

    it('static: node 0 alone starts no rank and fails after --rdzv-timeout; with node 1 both run', async () => {
      const network = await createNetwork();
      // A rank that never calls init_process_group: torchrun's static rendezvous still waits for every node.
      const args = (node: 0 | 1, timeout: string) => [
        '--nnodes=2',
        `--node-rank=${node}`,
        `--master-addr=${network.nodes[0].addr}`,
        `--master-port=${PORT}`,
        `--rdzv-timeout=${timeout}`,
        '--no-python',
        'sh',
        '-c',
        'echo rank-started $RANK',
      ];
      const alone = startDdprun(network, 0, args(0, '3'));
      procs.push(alone);
      const exit = await within(alone.exit, 60_000, 'node 0 alone');
      expect(exit.code, alone.stderr).toBe(1);
      expect(alone.stdout).not.toContain('rank-started');
      expect(alone.stderr).toMatch(/Only 1 of 2 nodes joined/);

      const node1 = startDdprun(network, 1, args(1, '60'));
      const node0 = startDdprun(network, 0, args(0, '60'));
      procs.push(node1, node0);
      const [exit0, exit1] = await within(Promise.all([node0.exit, node1.exit]), 120_000, 'both nodes');
      expect(exit0, node0.stderr).toEqual({ code: 0, signal: null });
      expect(exit1, node1.stderr).toEqual({ code: 0, signal: null });
      expect(node0.stdout).toContain('rank-started 0');
      expect(node1.stdout).toContain('rank-started 1');
    }, 240_000);
  },
);
