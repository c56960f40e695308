import type { LaunchOptions } from '../model/types.js';
import type { DdpTrainer } from '../model/trainer.js';
import { literalToJs, type PyLiteral } from '../python/smart-value.js';

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

/**
 * `ddprun train`'s launch options: the trainer, its `key=value` arguments typed as the `yolo` CLI types them. The
 * devices (`-1` → idle GPUs, `CUDA_VISIBLE_DEVICES`) are chosen by the launch itself (ultralytics/select-device.ts),
 * as for `launch({ entry: { trainer } })`, so the CLI and the library behave alike.
 */
export function trainerLaunchOptions(
  options: Omit<LaunchOptions, 'entry'>,
  trainer: { module: string; className: string; args: Map<string, PyLiteral> },
): LaunchOptions {
  const ddpTrainer: DdpTrainer = {
    module: trainer.module,
    className: trainer.className,
    args: argsObject(trainer.args),
  };
  return { ...options, entry: { trainer: ddpTrainer } };
}
