import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { planAttempt, resolveOptions, UsageError } from 'ddprun';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/devices.js';
import { selectTrainerDevices } from '../../src/ultralytics/select-device.js';
import { runCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { torchPython, TORCH_SKIP_REASON } from '../helpers/python.js';

const GPUS: Gpu[] = [
  { index: 0, name: 'A', memoryUsedMiB: 70_000, memoryTotalMiB: 80_000, utilizationPercent: 90 },
  { index: 1, name: 'B', memoryUsedMiB: 1_000, memoryTotalMiB: 80_000, utilizationPercent: 5 },
  { index: 2, name: 'C', memoryUsedMiB: 2_000, memoryTotalMiB: 80_000, utilizationPercent: 10 },
];
const deps = { listGpus: () => Promise.resolve(GPUS) };
const trainer = (args: Record<string, unknown>) => ({ module: 'pkg.mod', className: 'T', args });

describe('selectTrainerDevices (Ultralytics select_device)', () => {
  it('sets CUDA_VISIBLE_DEVICES and replaces -1 by idle GPUs, writing them back into device', async () => {
    const given = trainer({ device: [-1, -1], epochs: 1 });
    const selected = await selectTrainerDevices(given, { A: '1' }, deps);
    expect(selected).toEqual({
      trainer: trainer({ device: '1,2', epochs: 1 }),
      env: { A: '1', CUDA_VISIBLE_DEVICES: '1,2' },
    });
    expect(given.args.device).toEqual([-1, -1]); // the caller's trainer is not changed
    expect((await selectTrainerDevices(trainer({ device: [0, 3] }), {}, deps)).env).toEqual({
      CUDA_VISIBLE_DEVICES: '0,3',
    });
    expect((await selectTrainerDevices(trainer({ device: 'cpu' }), {}, deps)).env).toEqual({
      CUDA_VISIBLE_DEVICES: '-1',
    });
    expect((await selectTrainerDevices(trainer({ epochs: 1 }), {}, deps)).env).toEqual({});
  });

  it('refuses -1 when too few GPUs are idle', async () => {
    await expect(selectTrainerDevices(trainer({ device: '-1,-1,-1' }), {}, deps)).rejects.toThrow(
      'device=-1,-1,-1 asks for 3 idle GPU(s) (-1), but nvidia-smi lists 3 GPU(s) and 2 of them are idle enough. Name the GPUs (e.g. device=0,1), or pass --nproc-per-node.',
    );
  });
});

/** A stand-in `nvidia-smi` on PATH printing two GPUs: 0 busy, 1 idle. */
function fakeNvidiaSmi(s: Sandbox): string {
  const bin = path.join(s.dir, 'bin');
  mkdirSync(bin);
  const file = path.join(bin, 'nvidia-smi');
  writeFileSync(
    file,
    '#!/bin/sh\nprintf "0, NVIDIA H100 80GB HBM3, 30000, 81559, 97\\n1, NVIDIA H100 80GB HBM3, 1200, 81559, 2\\n"\n',
  );
  chmodSync(file, 0o755);
  return `${bin}${path.delimiter}${s.env.PATH ?? ''}`;
}

interface Devices {
  ranks: number;
  visible: (string | undefined)[];
}

const devicesOf = (plan: { ranks: readonly { env: Readonly<Record<string, string>> }[] }): Devices => ({
  ranks: plan.ranks.length,
  visible: plan.ranks.map((rank) => rank.env.CUDA_VISIBLE_DEVICES),
});

describe('launch({ entry: { trainer } }) and `ddprun train` pick the same devices', () => {
  const box = useSandboxes();
  // [`ddprun train` argument, the library's args.device, the devices both pick (undefined: both refuse it)]
  const CASES: [string, unknown, Devices | undefined][] = [
    ['device=-1,-1', [-1, -1], { ranks: 2, visible: ['1,0', '1,0'] }],
    ['device=0,1', '0,1', { ranks: 2, visible: ['0,1', '0,1'] }],
    ['device=[1,0]', [1, 0], { ranks: 2, visible: ['1,0', '1,0'] }],
    ['device=cpu', 'cpu', undefined],
    ['device=-1,-1,-1', '-1,-1,-1', undefined],
  ];

  it.each(CASES)('%s', async (cliArg, device, expected) => {
    const python = await torchPython();
    if (!python) return expect.fail(TORCH_SKIP_REASON);
    const s = box();
    const PATH = fakeNvidiaSmi(s);
    const cli = await runCli(['train', '--dry-run', '--json', '--python', python, 'pkg.mod.T', cliArg], {
      env: { ...s.env, PATH },
      cwd: s.out,
    });

    const saved = process.env.PATH;
    process.env.PATH = PATH;
    const library = await resolveOptions({
      entry: { trainer: trainer({ device }) },
      python,
      cwd: s.out,
      configDir: s.configDir,
      console: false,
    })
      .then((resolved) => devicesOf(planAttempt(resolved, 0, 29_500)))
      .catch((error: unknown) => error)
      .finally(() => (process.env.PATH = saved));

    if (expected === undefined) {
      expect(library).toBeInstanceOf(UsageError);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain((library as UsageError).message);
      return;
    }
    expect(cli.code, cli.stderr).toBe(0);
    expect(devicesOf(JSON.parse(cli.stdout) as { ranks: { env: Record<string, string> }[] })).toEqual(expected);
    expect(library).toEqual(expected);
  });
});
