import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TORCHRUN_REDIRECT_FIX } from '../../src/launch/torchrun/argv.js';
import { useCleanups } from '../helpers/launch.js';
import { netnsSkipReason, type TwoNodeNetwork } from '../helpers/netns.js';
import {
  baseEnv,
  startDdprun,
  startOnNode,
  sums,
  useTwoNodeNetworks,
  within,
  type NodeProcess,
} from '../helpers/node-process.js';
import { pidAlive, readPids, until, waitGone } from '../helpers/procs.js';
import { torchPython } from './torch-python.js';

const ALLREDUCE = fileURLToPath(new URL('../fixtures/netns_allreduce.py', import.meta.url));
const LOOP = fileURLToPath(new URL('../fixtures/multinode_loop.py', import.meta.url));
const PORT = 29500; // each namespace has its own port space: a fixed port cannot clash with another test
/** How long the torchrun comparison looks for node 0's exit: it waits in the 300 s exit barrier, so this is waited out. */
const BARRIER_LOOK_MS = 3000;
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

    // Not an assertion on torchrun: the same lost node under plain torchrun (static rendezvous, default
    // --monitor_interval 5 s), for the comparison in the notes. torchrun's workers have no parent-death signal, so
    // SIGKILLing node 1's agent leaves them running and node 0 notices nothing; the node is then "lost" by killing
    // everything in node 1's namespace, as a crash would.
    it('measures the same lost node under plain torchrun', async () => {
      const net = await createNetwork();
      const pidDir = tempDir('ddprun-multinode-');
      const torchrun = (node: 0 | 1) =>
        startOnNode(
          net,
          node,
          [
            ...[found.python!, '-c', TORCHRUN_REDIRECT_FIX],
            ...[
              '--nnodes',
              '2',
              '--nproc_per_node',
              '2',
              '--rdzv_backend',
              'static',
              '--rdzv_id',
              'lost',
              '--max_restarts',
              '0',
            ],
            ...['--node_rank', String(node), '--master_addr', net.nodes[0].addr, '--master_port', String(PORT)],
            ...[LOOP, pidDir, '2000'],
          ],
          baseEnv({ GLOO_SOCKET_IFNAME: net.nodes[node].ifname, OMP_NUM_THREADS: '1' }),
        );
      const [node0, node1] = [torchrun(0), torchrun(1)];
      procs.push(node0, node1);
      await allFourRanksReady(node0, node1);
      const workers = readPids(pidDir);

      node1.child.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const orphans = workers.filter((pid, rank) => rank >= 2 && pidAlive(pid));
      console.log(
        `torchrun: 2 s after node 1's agent was SIGKILLed, ${orphans.length} of its 2 workers still run; node 0 ${node0.exitedAt === undefined ? 'noticed nothing' : 'exited'}`,
      );

      const lostAt = performance.now();
      for (const pid of await net.pids(1)) process.kill(pid, 'SIGKILL');
      let failedAt: number | undefined;
      await until("node 0's torchrun reporting the failed worker", () => {
        if (failedAt === undefined && /failed \(exitcode: /.test(node0.stderr)) failedAt = performance.now();
        return failedAt !== undefined || node0.exitedAt !== undefined;
      });
      // With no restarts left, torchrun's agent waits in its exit barrier (300 s) for the dead agent of node 1.
      await Promise.race([node0.exit, new Promise((resolve) => setTimeout(resolve, BARRIER_LOOK_MS))]);
      const seconds = (t: number | undefined) => (t === undefined ? 'n/a' : `${((t - lostAt) / 1000).toFixed(2)} s`);
      console.log(
        `lost-node detection, torchrun static: node 0's agent reported the failed worker after ${seconds(failedAt)}; ` +
          `its torchrun ${node0.exitedAt === undefined ? `had not exited ${BARRIER_LOOK_MS / 1000} s later (waiting in the exit barrier)` : `exited after ${seconds(node0.exitedAt)}`}`,
      );
      expect(failedAt ?? node0.exitedAt).toBeDefined();
    });
  },
);
