import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { launch } from 'ddprun';
import { launchQuietly, useCleanups } from '../helpers/launch.js';
import { readPids, waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';

const python = (await torchPython()) ?? undefined;
const { cleanups, tempDir: pidsDir } = useCleanups();

describe.skipIf(!python)('launch() failure handling', () => {
  it('kills the other ranks when rank 1 exits with code 3, and names rank 1 and code 3', async () => {
    const pids = pidsDir();
    const result = await launchQuietly('fail_rank.py', [pids], { nprocPerNode: 3 }).result;
    expect(result.exitCode).toBe(3);
    expect(result.rootCause).toMatchObject({
      rank: 1,
      localRank: 1,
      exitCode: 3,
      signal: null,
      source: 'stderr',
      message: 'rank failing now',
    });
    expect(result.ranks.map((r) => [r.rank, r.exitCode, r.signal])).toEqual([
      [0, null, 'SIGTERM'],
      [1, 3, null],
      [2, null, 'SIGTERM'],
    ]);
    expect(await waitGone(readPids(pids), 2000)).toEqual([]);
  });

  it('puts the Python traceback from the error file into the root cause', async () => {
    const result = await launchQuietly('record_raise.py', [], { nprocPerNode: 2 }).result;
    expect(result.exitCode).toBe(1);
    const rc = result.rootCause;
    expect(rc).toMatchObject({
      rank: 1,
      source: 'error-file',
      message: 'ValueError: cannot read dataset /data/missing.yaml',
    });
    expect(rc?.traceback).toMatch(/^Traceback \(most recent call last\):/);
    expect(rc?.traceback).toContain('in load');
    expect(rc?.traceback.split('\n').at(-1)).toBe('ValueError: cannot read dataset /data/missing.yaml');
  });

  it('SIGKILLs a rank that ignores SIGTERM once the grace period is over', async () => {
    const pids = pidsDir();
    const t0 = Date.now();
    const result = await launchQuietly('ignore_term.py', [pids], { nprocPerNode: 2, gracePeriodMs: 300 }).result;
    expect(result.rootCause).toMatchObject({ rank: 0, exitCode: 1 });
    expect(result.ranks[1]).toMatchObject({ rank: 1, exitCode: null, signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(await waitGone(readPids(pids), 2000)).toEqual([]);
  });

  it("kills a rank's child processes with it", async () => {
    const pids = pidsDir();
    const result = await launchQuietly('fork_child.py', [pids], { nprocPerNode: 2 }).result;
    expect(result.rootCause).toMatchObject({ rank: 1, exitCode: 1 });
    const all = readPids(pids);
    expect(all).toHaveLength(4); // two ranks, each with a `sleep` child
    expect(await waitGone(all, 2000)).toEqual([]);
  });

  it('restarts the group and succeeds on attempt 2 when a worker fails only the first time', async () => {
    const lines: string[] = [];
    const restarts: string[] = [];
    const handle = launchQuietly('fail_once.py', [pidsDir()], { nprocPerNode: 2, maxRestarts: 2 });
    handle.on('line', (l) => lines.push(l.text));
    handle.on('restarting', (r) => restarts.push(`${r.attempt}: ${r.reason}`));
    const result = await handle.result;
    expect(result).toMatchObject({ exitCode: 0, attempts: 2, rootCause: undefined });
    expect(restarts).toEqual(['1: rank 1 failed with exit code 1']);
    expect(lines.filter((l) => l.startsWith('rank=')).sort()).toEqual([
      'rank=0 restart=0',
      'rank=0 restart=1',
      'rank=1 restart=1',
    ]);
  });

  it('fails after maxRestarts restarts with the last root cause', async () => {
    const pids = pidsDir();
    const result = await launchQuietly('fail_rank.py', [pids], {
      nprocPerNode: 2,
      maxRestarts: 1,
      env: { FAIL_CODE: '4' },
    }).result;
    expect(result).toMatchObject({ exitCode: 4, attempts: 2 });
    expect(result.rootCause).toMatchObject({ rank: 1, exitCode: 4 });
  });

  it('retries with a fresh port when MASTER_PORT is taken before rank 0 binds it', async () => {
    const lines: string[] = [];
    const reasons: string[] = [];
    const ports: number[] = [];
    const handle = launchQuietly('allreduce.py', [], { nprocPerNode: 2 });
    handle.on('started', ({ rank, masterPort }) => {
      if (rank !== 0 || ports.includes(masterPort)) return;
      ports.push(masterPort);
      if (ports.length > 1) return;
      // Rank 0 is still importing torch: take its port now, as another program could. The program holds what
      // connects (as a busy server would) rather than resetting it, so rank 1's store client waits instead of
      // failing first: the failure is rank 0's, which cannot bind.
      const held = new Set<net.Socket>();
      const blocker = net.createServer((socket) => held.add(socket)).listen(masterPort, '0.0.0.0');
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of held) socket.destroy();
            blocker.close(() => resolve());
          }),
      );
    });
    handle.on('restarting', (r) => reasons.push(r.reason));
    handle.on('line', (l) => lines.push(l.text));
    const result = await handle.result;
    expect(result).toMatchObject({ exitCode: 0, attempts: 1, portRetries: 1 });
    expect(reasons).toEqual([
      `MASTER_PORT ${ports[0]} was taken before rank 0 could bind it; retrying with a fresh port`,
    ]);
    expect(ports).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('rank='))).toHaveLength(2);
  });

  it('reports a command that exits 127 (not found by its shell) with its stderr', async () => {
    const result = await launch({
      entry: { command: 'sh', args: ['-c', 'nonexistent-ddprun-worker'] },
      nprocPerNode: 2,
      console: false,
    }).result;
    expect(result.exitCode).toBe(127);
    expect(result.rootCause?.message).toContain('nonexistent-ddprun-worker: not found');
  });
});
