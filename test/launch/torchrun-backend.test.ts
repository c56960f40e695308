import { describe, expect, it } from 'vitest';
import { launchFixture, launchQuietly, readyRanks, startLauncher, useCleanups } from '../helpers/launch.js';
import { torchPython } from '../helpers/python.js';
import { readPids, until, waitGone } from '../helpers/procs.js';

const python = (await torchPython()) ?? undefined;
const { cleanups, tempDir } = useCleanups();
const TORCHRUN = { nprocPerNode: 2, backend: 'torchrun' } as const;
/** The root cause when rank 1 (local rank 1 of the 2) failed with `exitCode`, as found in `source`. */
const rank1Failed = (exitCode: number, source: 'error-file' | 'stderr', message: string) => ({
  rank: 1,
  localRank: 1,
  exitCode,
  source,
  message,
});

describe.skipIf(!python)("launch() with backend 'torchrun'", () => {
  it('runs the ranks under torch.distributed.run and tags each line with its rank', async () => {
    const lines: string[] = [];
    const handle = launchQuietly('allreduce.py', [], TORCHRUN);
    handle.on('line', (l) => {
      if (l.text.startsWith('rank=')) lines.push(`${l.rank}:${l.text}`);
    });
    const result = await handle.result;
    expect(result.exitCode).toBe(0);
    expect(lines.sort()).toEqual(['0:rank=0 world=2 sum=3 restart=0', '1:rank=1 world=2 sum=3 restart=0']);
  });

  it("explains a failure with torchrun's root cause and the worker's traceback", async () => {
    const result = await launchQuietly('record_raise.py', [], TORCHRUN).result;
    expect(result.exitCode).toBe(1);
    expect(result.rootCause).toMatchObject(
      rank1Failed(1, 'error-file', 'ValueError: cannot read dataset /data/missing.yaml'),
    );
    expect(result.rootCause?.traceback).toContain('in load');
  });

  it('finds the root cause under a c10d rendezvous too, where torch < 2.3 tags lines by local rank only', async () => {
    const c10d = { rdzvBackend: 'c10d', rdzvEndpoint: '127.0.0.1:0', env: { FAIL_CODE: '3' } } as const;
    const result = await launchQuietly('fail_rank.py', [tempDir()], { ...TORCHRUN, ...c10d }).result;
    expect(result.exitCode).toBe(3);
    expect(result.rootCause).toMatchObject(rank1Failed(3, 'stderr', 'rank failing now'));
  });

  it('leaves no worker alive when ddprun is SIGKILLed (torchrun alone leaves orphans)', async () => {
    const dir = tempDir();
    const parent = startLauncher(
      { entry: { script: launchFixture('sleeper.py'), args: [dir] }, ...TORCHRUN },
      cleanups,
    );
    await until('both ranks to be ready', () => readyRanks(parent) >= 2);
    const workers = readPids(dir);
    expect(workers).toHaveLength(2);
    parent.proc.kill('SIGKILL');
    expect(await waitGone(workers, 5000)).toEqual([]);
  });
});
