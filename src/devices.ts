import { promisify } from 'node:util';
import { UsageError, describeValue } from './errors.js';

/** A `device` value read by Ultralytics' `select_device` rules. */
export type ParsedDevice =
  | { kind: 'cpu' }
  | { kind: 'mps' }
  /** `None` / `""`: CUDA device 0 when CUDA is available, else the CPU. */
  | { kind: 'default' }
  /** CUDA devices; `'auto'` stands for a `-1` entry: pick an idle GPU. */
  | { kind: 'cuda'; ids: (number | 'auto')[] };

/** One GPU as `nvidia-smi` reports it (memory in MiB, utilisation in percent). */
export interface Gpu {
  index: number;
  name: string;
  memoryUsedMiB: number;
  memoryTotalMiB: number;
  utilizationPercent: number;
}

const EXPECTED =
  'a CUDA device index or list (`0`, `"0,1"`, `[0, 1]`, `"cuda:0"`), `-1` entries for idle GPUs, `"cpu"`, `"mps"` or None';

/**
 * Reads a device the way Ultralytics' `select_device` does: `str(device).lower()` with `cuda:`, `none`,
 * brackets, quotes and spaces removed, so `[0, 1]`, `"(0, 1)"` and `"cuda:0,1"` all mean GPUs 0 and 1.
 */
export function parseDevice(device: unknown): ParsedDevice {
  let text: string;
  if (device === null || device === undefined) text = '';
  else if (typeof device === 'string') text = device;
  else if (typeof device === 'number' && Number.isInteger(device)) text = String(device);
  else if (
    Array.isArray(device) &&
    device.every((d) => (typeof d === 'number' && Number.isInteger(d)) || typeof d === 'string')
  )
    text = device.join(',');
  else throw new UsageError(`Expected the \`device\` option to be ${EXPECTED}, got ${describeValue(device)}`, 'device');
  let normalized = text.toLowerCase();
  for (const remove of ['cuda:', 'none', '(', ')', '[', ']', "'", '"', ' '])
    normalized = normalized.split(remove).join('');
  if (normalized === '') return { kind: 'default' };
  if (normalized === 'cpu') return { kind: 'cpu' };
  if (normalized === 'mps' || normalized === 'mps:0') return { kind: 'mps' };
  if (normalized === 'cuda') return { kind: 'cuda', ids: [0] };
  const ids: (number | 'auto')[] = [];
  for (const part of normalized.split(',')) {
    if (part === '') continue; // "0,,1" -> "0,1", as Ultralytics does
    if (part === '-1') ids.push('auto');
    else if (/^\d+$/.test(part)) ids.push(Number(part));
    else
      throw new UsageError(`Expected the \`device\` option to be ${EXPECTED}, got ${describeValue(device)}`, 'device');
  }
  if (ids.length === 0) return { kind: 'default' };
  return { kind: 'cuda', ids };
}

/**
 * Ultralytics' `GPUInfo.select_idle_gpu`: GPUs with at least `minMemoryFraction` of their memory free,
 * least utilised first, then most free memory; at most `count` indices (fewer when fewer qualify).
 */
export function selectIdleGpus(count: number, gpus: readonly Gpu[], minMemoryFraction = 0): number[] {
  if (count <= 0) return [];
  const free = (g: Gpu) => g.memoryTotalMiB - g.memoryUsedMiB;
  return gpus
    .filter((g) => free(g) / (g.memoryTotalMiB || 1) >= minMemoryFraction)
    .sort((a, b) => a.utilizationPercent - b.utilizationPercent || free(b) - free(a))
    .slice(0, count)
    .map((g) => g.index);
}

/**
 * The CUDA device indices a device value selects; `-1` entries become idle GPUs (select_device asks for 20 % free
 * memory).
 */
export function resolveCudaDevices(device: unknown, gpus: readonly Gpu[] = []): number[] {
  const parsed = parseDevice(device);
  if (parsed.kind !== 'cuda') return [];
  const selected = selectIdleGpus(parsed.ids.filter((id) => id === 'auto').length, gpus, 0.2);
  // Each -1 takes the next selected GPU, or is dropped when none is left (as Ultralytics does).
  return parsed.ids.flatMap((id) => (id === 'auto' ? selected.splice(0, 1) : [id]));
}

/**
 * The DDP world size for a trainer's `device`, by Ultralytics' trainer rules (`"0,1"` -> 2, `[0, 1]` -> 2).
 * `-1` entries need `gpus` (from `listGpus()`). CPU, MPS, None and a single device are refused: DDP needs
 * more than one device.
 */
export function ddpWorldSizeFromDevice(device: unknown, gpus?: readonly Gpu[]): number {
  const parsed = parseDevice(device);
  if (parsed.kind === 'cuda' && parsed.ids.includes('auto') && gpus === undefined) {
    throw new UsageError(
      `The device ${describeValue(device)} asks for idle GPUs (-1), which needs the GPU list: pass \`listGpus()\`'s result, or name the devices.`,
      'device',
    );
  }
  const count = parsed.kind === 'cuda' ? resolveCudaDevices(device, gpus).length : 0;
  if (count < 2) {
    const what =
      parsed.kind === 'cpu' || parsed.kind === 'mps'
        ? `"${parsed.kind}" is a single device`
        : parsed.kind === 'default'
          ? 'no device selects CUDA device 0 only'
          : count === 1
            ? 'it selects one GPU'
            : 'no idle GPU was found for it';
    const got =
      device === undefined || device === '' ? 'but no device was given' : `got the device ${describeValue(device)}`;
    throw new UsageError(
      `DDP needs more than one device, ${got}: ${what}. Name two or more GPUs, e.g. "0,1" or [0, 1].`,
      'device',
    );
  }
  return count;
}

const QUERY = ['--query-gpu=index,name,memory.used,memory.total,utilization.gpu', '--format=csv,noheader,nounits'];

function toNumber(text: string | undefined): number {
  const n = Number(text?.trim());
  return Number.isFinite(n) ? n : -1; // "[N/A]" and friends
}

/** The machine's NVIDIA GPUs as `nvidia-smi` reports them; `[]` when nvidia-smi is missing or fails. */
export async function listGpus(): Promise<Gpu[]> {
  let stdout: string;
  try {
    // Imported here: the CLI's parser imports this module, and `--help` never runs a process.
    const { execFile } = await import('node:child_process');
    ({ stdout } = await promisify(execFile)('nvidia-smi', QUERY, { timeout: 10_000 }));
  } catch {
    return [];
  }
  const gpus: Gpu[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(',');
    // The name may contain commas: index first, the three numbers last, the name in between.
    const [index, ...rest] = fields;
    const numbers = rest.splice(-3);
    if (numbers.length !== 3 || !/^\s*\d+\s*$/.test(index ?? '')) continue;
    gpus.push({
      index: Number(index),
      name: rest.join(',').trim(),
      memoryUsedMiB: toNumber(numbers[0]),
      memoryTotalMiB: toNumber(numbers[1]),
      utilizationPercent: toNumber(numbers[2]),
    });
  }
  return gpus;
}
