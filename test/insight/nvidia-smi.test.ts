import { describe, expect, it } from 'vitest';
import { parseNvidiaSmi } from '../../src/insight/nvidia-smi.js';

// The documented CSV of `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits` and
// `--query-gpu=uuid,utilization.gpu --format=csv,noheader,nounits` (memory in MiB, utilisation in %).
// Not run on a GPU here: this machine has no nvidia-smi, so the sampler never calls it.
const APPS = `41231, GPU-5d3c2a11-8f0e-4b7a-9c11-0a1b2c3d4e5f, 22845
41232, GPU-9e8d7c6b-1a2b-3c4d-5e6f-778899aabbcc, 21004
41240, GPU-9e8d7c6b-1a2b-3c4d-5e6f-778899aabbcc, [N/A]
`;
const GPUS = `GPU-5d3c2a11-8f0e-4b7a-9c11-0a1b2c3d4e5f, 97
GPU-9e8d7c6b-1a2b-3c4d-5e6f-778899aabbcc, [Not Supported]
`;

describe('parseNvidiaSmi', () => {
  it('maps each pid to its GPU memory in bytes and the utilisation of its GPU', () => {
    const use = parseNvidiaSmi(APPS, GPUS);
    expect(use.get(41231)).toEqual({ memoryBytes: 22845 * 1024 * 1024, utilPercent: 97 });
    expect(use.get(41232)).toEqual({ memoryBytes: 21004 * 1024 * 1024, utilPercent: undefined });
    expect(use.get(41240)).toEqual({ memoryBytes: 0, utilPercent: undefined });
  });

  it('adds up a process that uses two GPUs', () => {
    const use = parseNvidiaSmi('7, GPU-a, 100\n7, GPU-b, 50\n', 'GPU-a, 10\nGPU-b, 80\n');
    expect(use.get(7)).toEqual({ memoryBytes: 150 * 1024 * 1024, utilPercent: 80 });
  });

  it('reads no processes from empty output (a GPU with nothing running)', () => {
    expect(parseNvidiaSmi('', 'GPU-a, 0\n').size).toBe(0);
  });
});
