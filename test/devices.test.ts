import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from 'ddprun';
import {
  ddpWorldSizeFromDevice,
  type Gpu,
  listGpus,
  parseDevice,
  resolveCudaDevices,
  selectIdleGpus,
} from 'ddprun/ultralytics';

const gpu = (index: number, utilizationPercent: number, memoryUsedMiB: number, memoryTotalMiB = 80_000): Gpu => ({
  index,
  name: 'NVIDIA H100',
  memoryUsedMiB,
  memoryTotalMiB,
  utilizationPercent,
});

describe('parseDevice', () => {
  it("reads devices the way Ultralytics' select_device does", () => {
    expect(parseDevice('0,1')).toEqual({ kind: 'cuda', ids: [0, 1] });
    expect(parseDevice([0, 1])).toEqual({ kind: 'cuda', ids: [0, 1] });
    expect(parseDevice('[0, 1]')).toEqual({ kind: 'cuda', ids: [0, 1] });
    expect(parseDevice('(0, 1)')).toEqual({ kind: 'cuda', ids: [0, 1] });
    expect(parseDevice('0,,1')).toEqual({ kind: 'cuda', ids: [0, 1] });
    expect(parseDevice(0)).toEqual({ kind: 'cuda', ids: [0] });
    expect(parseDevice('cuda:0')).toEqual({ kind: 'cuda', ids: [0] });
    expect(parseDevice('cuda')).toEqual({ kind: 'cuda', ids: [0] });
    expect(parseDevice('CPU')).toEqual({ kind: 'cpu' });
    expect(parseDevice('mps')).toEqual({ kind: 'mps' });
    expect(parseDevice('mps:0')).toEqual({ kind: 'mps' });
    expect(parseDevice(-1)).toEqual({ kind: 'cuda', ids: ['auto'] });
    expect(parseDevice([-1, -1])).toEqual({ kind: 'cuda', ids: ['auto', 'auto'] });
    expect(parseDevice(null)).toEqual({ kind: 'default' });
    expect(parseDevice('')).toEqual({ kind: 'default' });
    expect(parseDevice('None')).toEqual({ kind: 'default' });
  });

  it('refuses what select_device cannot use', () => {
    expect(() => parseDevice('gpu0')).toThrow(
      'Expected the `device` option to be a CUDA device index or list (`0`, `"0,1"`, `[0, 1]`, `"cuda:0"`), `-1` entries for idle GPUs, `"cpu"`, `"mps"` or None, got `"gpu0"` (string)',
    );
    expect(() => parseDevice(true)).toThrow(UsageError);
    expect(() => parseDevice(1.5)).toThrow(UsageError);
    expect(() => parseDevice('-2')).toThrow(UsageError);
  });
});

describe('ddpWorldSizeFromDevice', () => {
  it('counts the devices: "0,1" and [0, 1] are 2', () => {
    expect(ddpWorldSizeFromDevice('0,1')).toBe(2);
    expect(ddpWorldSizeFromDevice([0, 1, 2, 3])).toBe(4);
    expect(ddpWorldSizeFromDevice([-1, -1], [gpu(0, 90, 1000), gpu(1, 0, 1000), gpu(2, 5, 1000)])).toBe(2);
  });

  it('refuses cpu, mps, None and a single device: DDP needs more than one device', () => {
    expect(() => ddpWorldSizeFromDevice('cpu')).toThrow(
      'DDP needs more than one device, got the device `"cpu"` (string): "cpu" is a single device. Name two or more GPUs, e.g. "0,1" or [0, 1].',
    );
    expect(() => ddpWorldSizeFromDevice('mps')).toThrow(
      'DDP needs more than one device, got the device `"mps"` (string): "mps" is a single device.',
    );
    expect(() => ddpWorldSizeFromDevice(0)).toThrow(
      'DDP needs more than one device, got the device `0` (number): it selects one GPU.',
    );
    expect(() => ddpWorldSizeFromDevice(null)).toThrow(
      'DDP needs more than one device, got the device `null` (null): no device selects CUDA device 0 only.',
    );
    expect(() => ddpWorldSizeFromDevice([-1, -1])).toThrow(
      "The device `[-1,-1]` (array) asks for idle GPUs (-1), which needs the GPU list: pass `listGpus()`'s result, or name the devices.",
    );
    expect(() => ddpWorldSizeFromDevice([-1, -1], [])).toThrow('no idle GPU was found for it');
  });
});

describe('selectIdleGpus', () => {
  it('ranks by utilisation, then free memory, and skips GPUs below the free-memory fraction', () => {
    const gpus = [gpu(0, 50, 1000), gpu(1, 0, 70_000), gpu(2, 0, 1000), gpu(3, 0, 79_000), gpu(4, 10, 0)];
    expect(selectIdleGpus(3, gpus)).toEqual([2, 1, 3]);
    expect(selectIdleGpus(3, gpus, 0.2)).toEqual([2, 4, 0]);
    expect(selectIdleGpus(0, gpus)).toEqual([]);
    expect(resolveCudaDevices('3,-1,-1', gpus)).toEqual([3, 2, 4]);
  });
});

describe('listGpus', () => {
  let dir: string;
  const savedPath = process.env.PATH;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ddprun-smi-'));
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('reads nvidia-smi, and is empty without it', async () => {
    const smi = path.join(dir, 'nvidia-smi');
    await writeFile(
      smi,
      `#!/bin/sh
[ "$1" = "--query-gpu=index,name,memory.used,memory.total,utilization.gpu" ] && [ "$2" = "--format=csv,noheader,nounits" ] || exit 9
echo "0, NVIDIA H100 80GB HBM3, 1024, 81559, 37"
echo "1, NVIDIA H100, PCIe, [N/A], 81559, 0"
`,
    );
    await chmod(smi, 0o755);
    process.env.PATH = `${dir}${path.delimiter}${savedPath}`;
    expect(await listGpus()).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 1024, memoryTotalMiB: 81559, utilizationPercent: 37 },
      { index: 1, name: 'NVIDIA H100, PCIe', memoryUsedMiB: -1, memoryTotalMiB: 81559, utilizationPercent: 0 },
    ]);
    process.env.PATH = path.join(dir, 'empty');
    expect(await listGpus()).toEqual([]);
  });
});
