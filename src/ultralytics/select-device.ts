import { listGpus, parseDevice, resolveCudaDevices, type Gpu } from '../devices.js';
import { UsageError } from '../errors.js';
import type { DdpTrainer } from '../model/trainer.js';
import { PyFloat } from '../python/literal.js';

/** What `selectTrainerDevices` reads from the machine: the GPU list, for `-1` devices. */
export interface TrainerDeviceDeps {
  listGpus: () => Promise<Gpu[]>;
}

/**
 * A trainer's devices as Ultralytics' `select_device` would leave things, for `launch({ entry: { trainer } })` and
 * `ddprun train` alike: each `-1` device replaced by an idle GPU (and written back into `device`, so the ranks do not
 * search again), and `CUDA_VISIBLE_DEVICES` set to the chosen GPUs (`-1` for cpu/mps). Returns the trainer and the
 * environment to launch with (new objects; the given ones are not changed). The world size then comes from `device`
 * unless `nprocPerNode` is given.
 */
export async function selectTrainerDevices(
  trainer: DdpTrainer,
  env: Record<string, string>,
  deps: TrainerDeviceDeps = { listGpus },
): Promise<{ trainer: DdpTrainer; env: Record<string, string> }> {
  const device = trainer.args.device instanceof PyFloat ? trainer.args.device.value : trainer.args.device;
  const parsed = parseDevice(device);
  if (parsed.kind === 'cpu' || parsed.kind === 'mps') return { trainer, env: { ...env, CUDA_VISIBLE_DEVICES: '-1' } };
  if (parsed.kind !== 'cuda') return { trainer, env };
  const wanted = parsed.ids.filter((id) => id === 'auto').length;
  const gpus = wanted > 0 ? await deps.listGpus() : [];
  const ids = resolveCudaDevices(device, gpus);
  if (ids.length < parsed.ids.length) {
    throw new UsageError(
      `device=${String(device)} asks for ${wanted} idle GPU(s) (-1), but nvidia-smi lists ${gpus.length} GPU(s) and ${wanted - (parsed.ids.length - ids.length)} of them are idle enough. Name the GPUs (e.g. device=0,1), or pass --nproc-per-node.`,
      'device',
    );
  }
  const chosen = ids.join(',');
  const args = wanted > 0 ? copyWith(trainer.args, 'device', chosen) : trainer.args;
  return { trainer: { ...trainer, args }, env: { ...env, CUDA_VISIBLE_DEVICES: chosen } };
}

/** `args` with `key` set, as an object of own properties (a `__proto__` key stays a key like any other). */
function copyWith(args: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of [...Object.entries(args), [key, value] as const])
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
