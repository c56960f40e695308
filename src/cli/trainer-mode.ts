import { listGpus, parseDevice, resolveCudaDevices, type Gpu } from '../devices.js';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../model/types.js';
import { PyFloat, pyDict, pyFloat, pyTuple } from '../python/literal.js';
import type { DdpTrainer } from '../model/trainer.js';
import type { PyLiteral } from './smart-value.js';

/**
 * A parsed literal as `DdpTrainer.args` holds it, so the entry file writes it back with the same type:
 * floats stay floats through `pyFloat` (`lr0=1.0`), dicts keep their key types and order through `pyDict`
 * (`names={0: 'person'}`), and tuples inside a value stay tuples (`pyTuple`). A tuple that is the whole value
 * (`imgsz=640,480`) arrives as a list, which Ultralytics reads the same way.
 */
export function literalToJs(value: PyLiteral, nested = false): unknown {
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
      return value.items.map((item) => literalToJs(item, true));
    case 'tuple': {
      const items = value.items.map((item) => literalToJs(item, true));
      return nested ? pyTuple(items) : items;
    }
    case 'dict':
      return pyDict(value.entries.map(([k, v]) => [literalToJs(k, true), literalToJs(v, true)]));
  }
}

/** `key=value` arguments as an object of own properties (`__proto__=1` is a key like any other). */
function argsObject(args: Map<string, PyLiteral>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of args)
    Object.defineProperty(out, key, {
      value: literalToJs(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
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
  const args = argsObject(trainer.args);
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
