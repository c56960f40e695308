import os from 'node:os';
import { UsageError } from '../../errors.js';
import { ddpWorldSizeFromDevice, listGpus } from '../../devices.js';
import { findPython, probeTorch } from '../../python/find-python.js';
import type { Entry } from '../../model/types.js';
import { fail } from './validators.js';

/** More local ranks than this is a typo (`1e9`), not a machine. */
export const MAX_NPROC_PER_NODE = 4096;
const SYMBOLIC = ['auto', 'gpu', 'cpu'];

/** `nprocPerNode` checked for its form only (no probing). */
export function checkNproc(value: unknown): void {
  if (value === undefined || (typeof value === 'string' && SYMBOLIC.includes(value))) return;
  validateNproc(value);
}

/** A number of ranks, or one of the words: the error lists both (`'two'` is neither). */
function validateNproc(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_NPROC_PER_NODE) return value;
  return fail('nprocPerNode', value, `an integer from 1 to ${MAX_NPROC_PER_NODE}, or 'auto', 'gpu' or 'cpu'`);
}

/** Ranks on this node: the number given, or counted (`auto`/`gpu` ask torch; trainer mode reads `device`). */
export async function resolveNproc(
  value: unknown,
  entry: Entry,
  python: string | undefined,
): Promise<{ n: number; torchVersion?: string }> {
  if (value === undefined) {
    if ('trainer' in entry) return { n: ddpWorldSizeFromDevice(entry.trainer.args?.device, await listGpus()) };
    return { n: 1 };
  }
  if (value === 'cpu') return { n: os.availableParallelism() };
  if (value === 'auto' && !python && 'command' in entry) {
    // torchrun --no-python --nproc-per-node auto: GPUs when torch sees CUDA, else the CPU count. No torch: CPUs.
    const withTorch = await findPython().catch(() => undefined);
    if (!withTorch) return { n: os.availableParallelism() };
    return resolveNproc(value, entry, withTorch.python);
  }
  if (value === 'auto' || value === 'gpu') {
    if (!python)
      throw new UsageError(
        `\`nprocPerNode: '${value}'\` needs a Python with torch to count GPUs; give a number with a \`command\` entry.`,
        'nprocPerNode',
      );
    const torch = await probeTorch(python);
    if (torch.cudaAvailable && torch.cudaDeviceCount > 0)
      return { n: torch.cudaDeviceCount, torchVersion: torch.version };
    if (value === 'gpu')
      throw new UsageError(
        `\`nprocPerNode: 'gpu'\` but torch ${torch.version} sees no CUDA device; use a number, 'cpu' or 'auto'.`,
        'nprocPerNode',
      );
    return { n: os.availableParallelism(), torchVersion: torch.version };
  }
  return { n: validateNproc(value) };
}
