import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { launch } from '../../src/launch/run/launch.js';
import { launchFixture, useCleanups } from '../helpers/launch.js';
import { torchPython } from '../helpers/python.js';
import { readPids, tempDir, waitGone } from '../helpers/procs.js';

const python = (await torchPython()) ?? undefined;
const fixture = launchFixture;
const { cleanups } = useCleanups();

describe.skipIf(!python)("launch() with backend 'torchrun'", () => {
  it('runs the ranks under torch.distributed.run and tags each line with its rank', async () => {
    const lines: string[] = [];
    const handle = launch({
      entry: { script: fixture('allreduce.py') },
      nprocPerNode: 2,
      backend: 'torchrun',
      console: false,
    });
    handle.on('line', (l) => {
      if (l.text.startsWith('rank=')) lines.push(`${l.rank}:${l.text}`);
    });
    const result = await handle.result;
    expect(result.exitCode).toBe(0);
    expect(lines.sort()).toEqual(['0:rank=0 world=2 sum=3 restart=0', '1:rank=1 world=2 sum=3 restart=0']);
  });

  it("explains a failure with torchrun's root cause and the worker's traceback", async () => {
    const result = await launch({
      entry: { script: fixture('record_raise.py') },
      nprocPerNode: 2,
      backend: 'torchrun',
      console: false,
    }).result;
    expect(result.exitCode).toBe(1);
    expect(result.rootCause).toMatchObject({
      rank: 1,
      localRank: 1,
      exitCode: 1,
      source: 'error-file',
      message: 'ValueError: cannot read dataset /data/missing.yaml',
    });
    expect(result.rootCause?.traceback).toContain('in load');
  });

  it('finds the root cause under a c10d rendezvous too, where torch < 2.3 tags lines by local rank only', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const result = await launch({
      entry: { script: fixture('fail_rank.py'), args: [dir] },
      nprocPerNode: 2,
      backend: 'torchrun',
      rdzvBackend: 'c10d',
      rdzvEndpoint: '127.0.0.1:0',
      env: { FAIL_CODE: '3' },
      console: false,
    }).result;
    expect(result.exitCode).toBe(3);
    expect(result.rootCause).toMatchObject({
      rank: 1,
      localRank: 1,
      exitCode: 3,
      source: 'stderr',
      message: 'rank failing now',
    });
  });

  it('leaves no worker alive when ddprun is SIGKILLed (torchrun alone leaves orphans)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const options = { entry: { script: fixture('sleeper.py'), args: [dir] }, nprocPerNode: 2, backend: 'torchrun' };
    const parent = spawn(process.execPath, [fixture('launcher.mjs'), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => parent.kill('SIGKILL'));
    let out = '';
    parent.stdout.on('data', (d) => (out += d));
    const deadline = Date.now() + 60_000;
    while ((out.match(/\]:ready/g)?.length ?? 0) < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const workers = readPids(dir);
    expect(workers).toHaveLength(2);
    parent.kill('SIGKILL');
    expect(await waitGone(workers, 5000)).toEqual([]);
  });
});
