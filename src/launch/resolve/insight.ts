import { UsageError } from '../../errors.js';
import type { ResolvedOptions } from '../../model/types.js';
import { integerOr, validateBoolean, validateInteger, validateOneOf } from './validators.js';

export const DEFAULT_RESOURCE_INTERVAL_MS = 1000;
/** `resources` events come at most once a second. */
export const MIN_RESOURCE_INTERVAL_MS = 1000;
const MAX_HANG_TIMEOUT_MS = 86_400_000 * 7;

/**
 * Resource sampling, hang detection and stack dumps: a hang needs the sampler (it watches CPU use) and implies stack
 * dumps (the report's stacks), which need the native backend (under torchrun the agent starts the ranks).
 */
export function resolveInsight(
  options: Record<string, unknown>,
  backend: 'native' | 'torchrun',
): ResolvedOptions['insight'] {
  const resourceIntervalMs =
    options.resourceIntervalMs === 0
      ? 0
      : integerOr(
          'resourceIntervalMs',
          options.resourceIntervalMs,
          MIN_RESOURCE_INTERVAL_MS,
          3_600_000,
          DEFAULT_RESOURCE_INTERVAL_MS,
        );
  const hangTimeoutMs =
    options.hangTimeoutMs === undefined || options.hangTimeoutMs === 0
      ? 0
      : validateInteger('hangTimeoutMs', options.hangTimeoutMs, 1000, MAX_HANG_TIMEOUT_MS);
  const onHang = options.onHang === undefined ? 'dump' : validateOneOf('onHang', options.onHang, ['dump', 'stop']);
  const stackDumpsOption =
    options.stackDumps === undefined ? undefined : validateBoolean('stackDumps', options.stackDumps, false);
  if (hangTimeoutMs > 0 && resourceIntervalMs === 0)
    throw new UsageError(
      '`hangTimeoutMs` needs the resource sampler (it watches CPU use), but `resourceIntervalMs` is 0. Drop one of them.',
      'hangTimeoutMs',
    );
  const stackDumps = stackDumpsOption ?? hangTimeoutMs > 0;
  if (stackDumps && backend === 'torchrun')
    throw new UsageError(
      'Stack dumps (`stackDumps`, `hangTimeoutMs`) need the native backend: under `--backend torchrun` the agent starts the ranks. Drop one of them.',
      'stackDumps',
    );
  return { resourceIntervalMs, hangTimeoutMs, onHang, stackDumps };
}
