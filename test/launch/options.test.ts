import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch, type LaunchOptions, planAttempt, resolveOptions, UsageError } from 'ddprun';
import { torchPython } from '../helpers/python.js';
import { tempDir } from '../helpers/procs.js';

const python = (await torchPython()) ?? undefined;
const script = path.resolve('test/fixtures/launch/allreduce.py');
const entry = { script };

const bad: [string, Partial<LaunchOptions> & Record<string, unknown>, string][] = [
  [
    'nprocPerNode 0',
    { nprocPerNode: 0 },
    "Expected the `nprocPerNode` option to be an integer from 1 to 4096, or 'auto', 'gpu' or 'cpu', got `0` (number)",
  ],
  [
    'nprocPerNode 1e9',
    { nprocPerNode: 1e9 },
    "Expected the `nprocPerNode` option to be an integer from 1 to 4096, or 'auto', 'gpu' or 'cpu', got `1000000000` (number)",
  ],
  [
    'nprocPerNode "abc"',
    { nprocPerNode: 'abc' as never },
    "Expected the `nprocPerNode` option to be an integer from 1 to 4096, or 'auto', 'gpu' or 'cpu', got `\"abc\"` (string)",
  ],
  [
    'nprocPerNode "two"',
    { nprocPerNode: 'two' as never },
    "Expected the `nprocPerNode` option to be an integer from 1 to 4096, or 'auto', 'gpu' or 'cpu', got `\"two\"` (string)",
  ],
  [
    'masterPort 70000',
    { masterPort: 70000 },
    'Expected the `masterPort` option to be an integer from 1 to 65535, got `70000` (number)',
  ],
  [
    'nodeRank >= nnodes',
    { nnodes: 2, nodeRank: 2, masterPort: 29500 },
    '`nodeRank` 2 must be smaller than `nnodes` 2 (node ranks are 0 … 1).',
  ],
  [
    'elastic nnodes on native',
    { nnodes: '1:2' },
    'Elastic membership (`nnodes` "1:2") needs torchrun\'s c10d rendezvous: add --backend torchrun.',
  ],
  [
    'gracePeriodMs NaN',
    { gracePeriodMs: Number.NaN },
    'Expected the `gracePeriodMs` option to be an integer from 0 to 86400000, got `NaN` (number)',
  ],
  [
    'redirects "both"',
    { redirects: 'both' as never },
    "Expected the `redirects` option to be one of 'none', 'stdout', 'stderr', 'all' or a map from local rank to one of them, got `\"both\"` (string)",
  ],
  ['unknown option', { nproc: 2 }, 'Unknown option `nproc`.'],
  ['env with a number', { env: { A: 1 as never } }, 'Expected the `env.A` option to be a string, got `1` (number)'],
  [
    'runId with a space',
    { runId: 'a b' },
    'Expected the `runId` option to be a non-empty string of letters, digits, `_`, `.` and `-`, got `"a b"` (string)',
  ],
];

describe('resolveOptions rejects bad input before doing anything', () => {
  it.each(bad)('%s', async (_name, options, message) => {
    const error = await resolveOptions({ entry, ...options }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message.startsWith(message)).toBe(true);
  });

  it('names a missing script and where it looked', async () => {
    await expect(resolveOptions({ entry: { script: 'nope.py' }, cwd: os.tmpdir() })).rejects.toThrow(
      `The script "nope.py" does not exist or cannot be read (looked for ${path.join(os.tmpdir(), 'nope.py')}).`,
    );
  });

  it('refuses a malformed masterAddr', async () => {
    await expect(resolveOptions({ entry, masterAddr: 'http://node0:29500' })).rejects.toThrow(
      /^Invalid `masterAddr` "http:\/\/node0:29500": /,
    );
  });

  it('checks a trainer entry (module, class, every argument) before writing anything', async () => {
    const trainer = { module: 'ultralytics.models', className: 'Detection-Trainer', args: {} };
    await expect(resolveOptions({ entry: { trainer }, nprocPerNode: 2 })).rejects.toThrow(
      /^Expected `trainer\.className` to be a Python class name/,
    );
    const withFunction = { module: 'm', className: 'T', args: { callback: () => 1 } };
    await expect(resolveOptions({ entry: { trainer: withFunction }, nprocPerNode: 2 })).rejects.toThrow(/callback/);
  });

  it.skipIf(!python)(
    'refuses what torchrun cannot take at resolve time: per-rank redirects for more than 10 ranks',
    async () => {
      await expect(
        resolveOptions({ entry, backend: 'torchrun', nprocPerNode: 12, redirects: { 0: 'stdout' } }),
      ).rejects.toThrow(/more than 10 ranks per node/);
    },
  );

  it('refuses a logDir below a file, creating nothing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'file'), '');
      await expect(
        resolveOptions({ entry: { command: 'true' }, logDir: path.join(dir, 'file', 'logs') }),
      ).rejects.toThrow(/is a file, not a directory/);
      expect(readdirSync(dir)).toEqual(['file']);
    } finally {
      cleanup();
    }
  });

  it('refuses a command that is not on PATH', async () => {
    await expect(resolveOptions({ entry: { command: 'no-such-ddprun-command' } })).rejects.toThrow(
      'The command "no-such-ddprun-command" is not an executable file on PATH.',
    );
  });

  it.skipIf(!python)('refuses trainer mode on one device, and writes no entry file', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const trainer = {
        module: 'ultralytics.models.yolo.detect.train',
        className: 'DetectionTrainer',
        args: { device: 'cpu' },
      };
      await expect(launch({ entry: { trainer }, configDir: dir }).result).rejects.toThrow(
        /DDP needs more than one device/,
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });
});

describe('planAttempt', () => {
  it.skipIf(!python)("gives node 1 of 2 the global ranks, world size and torchrun's variables", async () => {
    const resolved = await resolveOptions({
      entry,
      nprocPerNode: 2,
      nnodes: 2,
      nodeRank: 1,
      masterAddr: '127.0.0.1',
      masterPort: 29511,
      maxRestarts: 3,
      runId: 'job7',
    });
    const plan = planAttempt(resolved, 2, 29511, undefined, {});
    expect(plan.worldSize).toBe(4);
    expect(plan.ranks.map((r) => r.rank)).toEqual([2, 3]);
    const { TORCHELASTIC_ERROR_FILE, ...env } = plan.ranks[1]!.env;
    expect(TORCHELASTIC_ERROR_FILE).toBe(path.join(resolved.runDir, 'attempt_2', '1', 'error.json'));
    expect(env).toMatchObject({
      LOCAL_RANK: '1',
      RANK: '3',
      GROUP_RANK: '1',
      ROLE_RANK: '3',
      ROLE_NAME: 'default',
      LOCAL_WORLD_SIZE: '2',
      WORLD_SIZE: '4',
      GROUP_WORLD_SIZE: '2',
      ROLE_WORLD_SIZE: '4',
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: '29511',
      TORCHELASTIC_RESTART_COUNT: '2',
      TORCHELASTIC_MAX_RESTARTS: '3',
      TORCHELASTIC_RUN_ID: 'job7',
      TORCHELASTIC_USE_AGENT_STORE: 'False',
      [ncclAsyncName(resolved.torchVersion)]: '1',
      OMP_NUM_THREADS: '1',
      GLOO_SOCKET_IFNAME: 'lo',
      NCCL_SOCKET_IFNAME: 'lo',
    });
    expect(plan.ranks[0]!.argv.slice(-3)).toEqual([resolved.python, '-u', script]);
  });

  it.skipIf(!python)('keeps OMP_NUM_THREADS and TORCH_NCCL_ASYNC_ERROR_HANDLING that the user set', async () => {
    const resolved = await resolveOptions({ entry, nprocPerNode: 2, env: { OMP_NUM_THREADS: '4' } });
    const name = ncclAsyncName(resolved.torchVersion);
    const plan = planAttempt(resolved, 0, 1234, undefined, { [name]: '0' });
    expect(plan.ranks[0]!.env).toMatchObject({ OMP_NUM_THREADS: '4', [name]: '0' });
    expect(resolved.warnings).toEqual([]);
  });
});

/** The variable the installed torch reads: NCCL_ASYNC_ERROR_HANDLING before torch 2.2, TORCH_NCCL_… from 2.2. */
function ncclAsyncName(torchVersion: string | undefined): string {
  const m = /^(\d+)\.(\d+)/.exec(torchVersion ?? '');
  return m && (Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 2))
    ? 'NCCL_ASYNC_ERROR_HANDLING'
    : 'TORCH_NCCL_ASYNC_ERROR_HANDLING';
}
