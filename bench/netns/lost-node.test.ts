// A measurement, not a test (`npm run bench:lost-node`): the lost node of test/multinode/native-netns.test.ts under
// plain torchrun, for the comparison in docs/troubleshooting.md. Kept out of the suite: it only waits and prints.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TORCHRUN_REDIRECT_FIX } from '../../src/launch/torchrun/argv.js';
import { useCleanups } from '../../test/helpers/launch.js';
import { netnsSkipReason } from '../../test/helpers/netns.js';
import { baseEnv, startOnNode, useTwoNodeNetworks, type NodeProcess } from '../../test/helpers/node-process.js';
import { pidAlive, readPids, until } from '../../test/helpers/procs.js';
import { torchPython } from '../../test/multinode/torch-python.js';

const LOOP = fileURLToPath(new URL('../../test/fixtures/multinode_loop.py', import.meta.url));
const PORT = 29500;
/** How long the torchrun comparison looks for node 0's exit: it waits in the 300 s exit barrier, so this is waited out. */
const BARRIER_LOOK_MS = 3000;
const found = await torchPython();
const skip = netnsSkipReason() ?? found.skip;

function readyCount(...procs: NodeProcess[]): number {
  return procs.reduce((n, p) => n + (p.stdout.match(/ready rank=\d+ pid=\d+ world=4/g) ?? []).length, 0);
}

/** Waits until all 4 ranks of the two nodes all-reduce, or a node exits; then expects all 4 ready. */
async function allFourRanksReady(node0: NodeProcess, node1: NodeProcess): Promise<void> {
  const ready = () => readyCount(node0, node1) === 4 || node0.exitedAt !== undefined || node1.exitedAt !== undefined;
  await until('all 4 ranks all-reducing', ready, { timeoutMs: 180_000 });
  expect(readyCount(node0, node1), `node 0:\n${node0.stderr}\nnode 1:\n${node1.stderr}`).toBe(4);
}

describe.skipIf(skip !== undefined)(`a lost node under plain torchrun${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { tempDir } = useCleanups();
  const { createNetwork, procs } = useTwoNodeNetworks();

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
});
