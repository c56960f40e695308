import { execFile } from 'node:child_process';
import { which } from '../os/which.js';

export interface GpuUse {
  memoryBytes: number;
  /** Utilisation of the GPU the process runs on (nvidia-smi has no per-process figure in this query). */
  utilPercent: number | undefined;
}

const TIMEOUT_MS = 5000;
const MIB = 1024 * 1024;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: TIMEOUT_MS, encoding: 'utf8' }, (error, stdout) =>
      error ? reject(error instanceof Error ? error : new Error(error.message)) : resolve(stdout),
    );
  });
}

function number(field: string | undefined): number | undefined {
  // "[N/A]", "[Not Supported]", "" are unknowns.
  const value = Number(field?.trim());
  return field !== undefined && field.trim() !== '' && Number.isFinite(value) ? value : undefined;
}

/**
 * Parses `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits` (one line per
 * process: `12345, GPU-5d3c…, 1024`, memory in MiB) together with `--query-gpu=uuid,utilization.gpu` (`GPU-5d3c…, 87`).
 */
export function parseNvidiaSmi(apps: string, gpus: string): Map<number, GpuUse> {
  const util = new Map<string, number | undefined>();
  for (const line of gpus.split('\n')) {
    const [uuid, percent] = line.split(',').map((s) => s.trim());
    if (uuid) util.set(uuid, number(percent));
  }
  const out = new Map<number, GpuUse>();
  for (const line of apps.split('\n')) {
    const [pidText, uuid, used] = line.split(',').map((s) => s.trim());
    const pid = number(pidText);
    const mib = number(used);
    if (pid === undefined) continue;
    const prev = out.get(pid);
    // A process on several GPUs: its memory adds up, its utilisation is the busiest GPU's.
    const utilPercent = uuid ? util.get(uuid) : undefined;
    out.set(pid, {
      memoryBytes: (prev?.memoryBytes ?? 0) + (mib ?? 0) * MIB,
      utilPercent:
        prev?.utilPercent === undefined ? utilPercent : Math.max(prev.utilPercent, utilPercent ?? prev.utilPercent),
    });
  }
  return out;
}

/** Per-process GPU use from nvidia-smi; undefined when nvidia-smi is not installed (no NVIDIA GPU here). */
export class NvidiaSmi {
  private constructor(private readonly file: string) {}

  static find(): NvidiaSmi | undefined {
    const file = which('nvidia-smi');
    return file ? new NvidiaSmi(file) : undefined;
  }

  async query(): Promise<Map<number, GpuUse>> {
    const [apps, gpus] = await Promise.all([
      run(this.file, ['--query-compute-apps=pid,gpu_uuid,used_memory', '--format=csv,noheader,nounits']),
      run(this.file, ['--query-gpu=uuid,utilization.gpu', '--format=csv,noheader,nounits']),
    ]);
    return parseNvidiaSmi(apps, gpus);
  }
}
