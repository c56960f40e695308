import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useCleanups } from '../helpers/launch.js';
import { netnsSkipReason, type TwoNodeNetwork } from '../helpers/netns.js';
import { startDdprun, sums, useTwoNodeNetworks, within, type NodeProcess } from '../helpers/node-process.js';
import { readPids, until, waitGone } from '../helpers/procs.js';
import { torchPython } from './torch-python.js';

const ALLREDUCE = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const LOOP = fileURLToPath(new URL('../fixtures/multinode_loop.py', import.meta.url));
const PORT = 29500; // each namespace has its own port space: a fixed port cannot clash with another test
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

/** `ddprun` options of node `node` in a 2 × 2 static job at node 0. */
function nodeArgs(net: TwoNodeNetwork, node: 0 | 1, extra: readonly string[] = []): string[] {
  const python = ['--python', found.python!];
  return [
    '--nnodes',
    '2',
    '--node-rank',
    String(node),
    '--master-addr',
    net.nodes[0].addr,
    '--master-port',
    String(PORT),
    '--nproc-per-node',
    '2',
    ...python,
    ...extra,
  ];
}

function readyCount(...procs: NodeProcess[]): number {
  return procs.reduce((n, p) => n + (p.stdout.match(/ready rank=\d+ pid=\d+ world=4/g) ?? []).length, 0);
}

/** Waits (60 s at most) until all 4 ranks of the two nodes all-reduce, or a node exits; then expects all 4 ready. */
async function allFourRanksReady(node0: NodeProcess, node1: NodeProcess): Promise<void> {
  const ready = () => readyCount(node0, node1) === 4 || node0.exitedAt !== undefined || node1.exitedAt !== undefined;
  await until('all 4 ranks all-reducing', ready);
  expect(readyCount(node0, node1), `node 0:\n${node0.stderr}\nnode 1:\n${node1.stderr}`).toBe(4);
}

interface DoneEvent {
  event: 'done';
  exitCode: number;
  rootCause?: { rank: number; exitCode: number | null; message: string; traceback: string };
}

function doneEvent(stdout: string): DoneEvent | undefined {
  const events = stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string });
  return events.find((e): e is DoneEvent => e.event === 'done');
}

describe.skipIf(skip !== undefined)(
  `ddprun's native backend across two network namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const { tempDir } = useCleanups();
    const { createNetwork, procs } = useTwoNodeNetworks();

    it('runs 2 nodes × 2 ranks of a gloo all-reduce (WORLD_SIZE 4) and names the veth in GLOO_SOCKET_IFNAME', async () => {
      const net = await createNetwork();
      const dry = startDdprun(net, 1, [...nodeArgs(net, 1), '--dry-run', ALLREDUCE]);
      procs.push(dry);
      expect(await within(dry.exit, 30_000, 'ddprun --dry-run')).toEqual({ code: 0, signal: null });
      expect(dry.stdout).toContain(`GLOO_SOCKET_IFNAME=${net.nodes[1].ifname}\n`);
      expect(dry.stdout).toContain(`NCCL_SOCKET_IFNAME=${net.nodes[1].ifname}\n`);
      expect(dry.stdout).toContain('RANK=3\n');
      expect(dry.stdout).toContain('WORLD_SIZE=4\n');

      const nodes = [0, 1] as const;
      const runs = nodes.map((node) => startDdprun(net, node, [...nodeArgs(net, node), ALLREDUCE]));
      procs.push(...runs);
      const exits = await within(Promise.all(runs.map((p) => p.exit)), 90_000, 'the 2 × 2 job finishing');
      for (const node of nodes) {
        expect(exits[node], `node ${node} stderr:\n${runs[node]!.stderr}`).toEqual({ code: 0, signal: null });
        // Each rank used the veth that ddprun chose for it.
        expect(runs[node]!.stdout).toContain(`ifname=${net.nodes[node].ifname}\n`);
      }
      expect(sums(runs[0]!.stdout)).toEqual(['0:10', '1:10']);
      expect(sums(runs[1]!.stdout)).toEqual(['2:10', '3:10']);
    });

    it('completes when node 1 starts 2 s before node 0', async () => {
      const net = await createNetwork();
      const node1 = startDdprun(net, 1, [...nodeArgs(net, 1, ['--rdzv-timeout', '60']), ALLREDUCE]);
      procs.push(node1);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(node1.exitedAt, `node 1 exited before node 0 started:\n${node1.stderr}`).toBeUndefined();
      const node0 = startDdprun(net, 0, [...nodeArgs(net, 0), ALLREDUCE]);
      procs.push(node0);
      const [exit0, exit1] = await within(Promise.all([node0.exit, node1.exit]), 90_000, 'the 2 × 2 job finishing');
      expect(exit0, node0.stderr).toEqual({ code: 0, signal: null });
      expect(exit1, node1.stderr).toEqual({ code: 0, signal: null });
      expect([...sums(node0.stdout), ...sums(node1.stdout)]).toEqual(['0:10', '1:10', '2:10', '3:10']);
    });

    it('fails with exit 1 after --rdzv-timeout 3, naming <addr>:<port>, when node 0 never comes', async () => {
      const net = await createNetwork();
      const started = performance.now();
      const node1 = startDdprun(net, 1, [...nodeArgs(net, 1, ['--rdzv-timeout', '3']), ALLREDUCE]);
      procs.push(node1);
      const exit = await within(node1.exit, 30_000, 'node 1 giving up');
      const elapsed = node1.exitedAt! - started;
      expect(exit, node1.stderr).toEqual({ code: 1, signal: null });
      expect(node1.stderr).toContain(`${net.nodes[0].addr}:${PORT}`);
      expect(elapsed).toBeGreaterThanOrEqual(3000);
      expect(elapsed).toBeLessThan(20_000);
      expect(node1.stdout).not.toContain('allreduce');
      expect(await net.pids(1)).toEqual([]);
    });

    it('fails node 0 within seconds, naming the lost peer, when node 1’s ddprun is SIGKILLed, and leaves no process', async () => {
      const net = await createNetwork();
      const pidDir = tempDir('ddprun-multinode-');
      const job = (node: 0 | 1) =>
        startDdprun(net, node, [...nodeArgs(net, node, ['--json', '--grace-period', '5']), LOOP, pidDir]);
      const [node0, node1] = [job(0), job(1)];
      procs.push(node0, node1);
      await allFourRanksReady(node0, node1);
      const workers = readPids(pidDir);
      expect(workers).toHaveLength(4);

      const killedAt = performance.now();
      node1.child.kill('SIGKILL');
      const exit0 = await within(node0.exit, 90_000, 'node 0 failing after node 1 was lost');
      const detectMs = node0.exitedAt! - killedAt;
      console.log(
        `lost-node detection, ddprun native: node 0's ddprun exited ${(detectMs / 1000).toFixed(2)} s after node 1's ddprun was SIGKILLed`,
      );

      expect(exit0.code, node0.stderr).not.toBe(0);
      expect(exit0.code).toBe(1);
      expect(detectMs).toBeLessThan(60_000);
      const done = doneEvent(node0.stdout);
      expect(done?.rootCause, node0.stdout).toBeDefined();
      expect([0, 1]).toContain(done!.rootCause!.rank);
      // gloo's "Connection closed by peer [169.254.X.2]:PORT" (or "Read error [169.254.X.2]:PORT: Connection reset by peer").
      expect(done!.rootCause!.message).toContain(`[${net.nodes[1].addr}]:`);
      expect(node0.stderr).toMatch(
        new RegExp(
          `Root cause: rank [01] [^\\n]*\\n(?:.*\\n)*?.*\\[${net.nodes[1].addr.replaceAll('.', '\\.')}\\]:\\d+`,
        ),
      );

      // Nothing survives on either node: not the ranks (parent-death signal, watchdog), not ddprun.
      await until(
        'both namespaces emptying',
        async () => (await net.pids(0)).length + (await net.pids(1)).length === 0,
        {
          timeoutMs: 10_000,
        },
      );
      expect(await waitGone(workers, 5000), 'worker pids still alive').toEqual([]);
      await within(node1.exit, 5000, 'node 1 reaped');
    });
  },
);
