import { listGpus, parseDevice, resolveCudaDevices, type Gpu } from '../devices.js';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../launch/types.js';
import { PyFloat, pyFloat } from '../python/literal.js';
import type { DdpTrainer } from '../ultralytics/types.js';
import type { PyLiteral } from './smart-value.js';

/**
 * A parsed literal as `DdpTrainer.args` holds it, so the entry file writes it back with the same type:
 * floats stay floats through `pyFloat` (`lr0=1.0`). The encoder has no tuple, so a tuple (`imgsz=640,480`)
 * arrives as a list, which Ultralytics reads the same way.
 */
export function literalToJs(value: PyLiteral): unknown {
  switch (value.type) {
    case 'none':
      return null;
    case 'bool':
    case 'str':
      return value.value;
    case 'float':
      return pyFloat(value.value);
    case 'int':
      return Number.isSafeInteger(Number(value.value)) ? Number(value.value) : value.value;
    case 'list':
    case 'tuple':
      return value.items.map(literalToJs);
    case 'dict':
      return Object.fromEntries(
        value.entries.map(([k, v]) => [k.type === 'str' ? k.value : String(literalToJs(k)), literalToJs(v)]),
      );
  }
}

/** What `trainerLaunchOptions` reads from the machine: the GPU list, for `-1` devices. */
export interface TrainerDeps {
  listGpus: () => Promise<Gpu[]>;
}

/**
 * `ddprun train`'s launch options, as Ultralytics' select_device would leave things: each `-1` device
 * replaced by an idle GPU (and written back into `device`, so the ranks do not search again), and
 * `CUDA_VISIBLE_DEVICES` set to the chosen GPUs (`-1` for cpu/mps). The world size then comes from
 * `device` unless --nproc-per-node was given.
 */
export async function trainerLaunchOptions(
  options: Omit<LaunchOptions, 'entry'>,
  trainer: { module: string; className: string; args: Map<string, PyLiteral> },
  deps: TrainerDeps = { listGpus },
): Promise<LaunchOptions> {
  const args: Record<string, unknown> = {};
  for (const [key, value] of trainer.args) args[key] = literalToJs(value);
  const device = args.device instanceof PyFloat ? args.device.value : args.device;
  const parsed = parseDevice(device);
  const env: Record<string, string> = { ...options.env };
  if (parsed.kind === 'cpu' || parsed.kind === 'mps') env.CUDA_VISIBLE_DEVICES = '-1';
  if (parsed.kind === 'cuda') {
    const wanted = parsed.ids.filter((id) => id === 'auto').length;
    const gpus = wanted > 0 ? await deps.listGpus() : [];
    const ids = resolveCudaDevices(device, gpus);
    if (ids.length < parsed.ids.length) {
      throw new UsageError(
        `device=${String(device)} asks for ${wanted} idle GPU(s) (-1), but nvidia-smi lists ${gpus.length} GPU(s) and ${wanted - (parsed.ids.length - ids.length)} of them are idle enough. Name the GPUs (e.g. device=0,1), or pass --nproc-per-node.`,
        'device',
      );
    }
    env.CUDA_VISIBLE_DEVICES = ids.join(',');
    if (wanted > 0) args.device = ids.join(',');
  }
  const ddpTrainer: DdpTrainer = { module: trainer.module, className: trainer.className, args };
  return { ...options, env, entry: { trainer: ddpTrainer } };
}
