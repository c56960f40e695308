import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launch, probeTorch } from 'ddprun';
import { findFreeNetworkPort } from 'ddprun/ultralytics';
import { tempDir } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';

const python = (await torchPython()) ?? undefined;
const fixture = (name: string) => path.resolve('test/fixtures/launch', name);
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe.skipIf(!python)('launch() with real torch gloo', () => {
  it.each([2, 4])('runs %i ranks that all-reduce to the right sum', async (n) => {
    const lines: string[] = [];
    const handle = launch({ entry: { script: fixture('allreduce.py') }, nprocPerNode: n, console: false });
    handle.on('line', (l) => lines.push(`${l.rank} ${l.text}`));
    const result = await handle.result;
    expect(result.exitCode).toBe(0);
    expect(result.ranks.map((r) => [r.rank, r.exitCode, r.signal])).toEqual(
      Array.from({ length: n }, (_, i) => [i, 0, null]),
    );
    const sum = (n * (n + 1)) / 2;
    expect(lines.sort()).toEqual(Array.from({ length: n }, (_, i) => `${i} rank=${i} world=${n} sum=${sum} restart=0`));
  });

  it('gives each rank the same environment as torchrun, except the documented differences', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const port = await findFreeNetworkPort();
    const torch = await probeTorch(python as string);
    const fix = torch.major < 2 ? ['--redirects', '9:1', '--tee', '9:1'] : [];
    const env = {
      ...process.env,
      OMP_NUM_THREADS: undefined,
      TORCH_NCCL_ASYNC_ERROR_HANDLING: undefined,
      NCCL_ASYNC_ERROR_HANDLING: undefined,
    };
    mkdirSync(path.join(dir, 'torchrun'));
    mkdirSync(path.join(dir, 'ddprun'));
    const torchrun = spawnSync(
      python as string,
      [
        '-m',
        'torch.distributed.run',
        '--nproc_per_node',
        '2',
        '--master_port',
        String(port),
        // Polls the workers every 0.1 s (the default 5 s would only be waited out); it sets no worker variable.
        '--monitor_interval',
        '0.1',
        ...fix,
        fixture('env_dump.py'),
        path.join(dir, 'torchrun'),
      ],
      {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(torchrun.status, torchrun.stderr).toBe(0);
    const result = await launch({
      entry: { script: fixture('env_dump.py'), args: [path.join(dir, 'ddprun')] },
      nprocPerNode: 2,
      masterPort: port,
      console: false,
    }).result;
    expect(result.exitCode).toBe(0);
    for (const rank of ['0', '1']) {
      const read = (who: string) =>
        JSON.parse(readFileSync(path.join(dir, who, `${rank}.json`), 'utf8')) as Record<string, string>;
      const [a, b] = [read('torchrun'), read('ddprun')];
      const added = (e: Record<string, string>) =>
        Object.fromEntries(Object.entries(e).filter(([k, v]) => process.env[k] !== v && k !== '_'));
      const [fromTorchrun, fromDdprun] = [added(a), added(b)];
      // The NCCL variable is the one the installed torch reads (NCCL_… before torch 2.2), as torchrun sets it.
      expect(fromTorchrun.TORCHELASTIC_USE_AGENT_STORE).toBe('True');
      expect(fromDdprun.TORCHELASTIC_USE_AGENT_STORE).toBe('False');
      expect(fromTorchrun.TORCHELASTIC_ERROR_FILE).toMatch(new RegExp(`attempt_0/${rank}/error\\.json$`));
      expect(fromDdprun.TORCHELASTIC_ERROR_FILE).toMatch(new RegExp(`attempt_0/${rank}/error\\.json$`));
      for (const e of [fromTorchrun, fromDdprun]) {
        delete e.TORCHELASTIC_USE_AGENT_STORE;
        delete e.TORCHELASTIC_ERROR_FILE;
      }
      expect(fromDdprun).toEqual(fromTorchrun);
      expect(fromDdprun).toMatchObject({
        RANK: rank,
        LOCAL_RANK: rank,
        WORLD_SIZE: '2',
        MASTER_PORT: String(port),
        OMP_NUM_THREADS: '1',
        TORCHELASTIC_RUN_ID: 'none',
      });
    }
  });
});
