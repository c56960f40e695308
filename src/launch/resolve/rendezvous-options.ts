import { fail, integerOr, validateOneOf } from './validators.js';

export const DEFAULT_RDZV_TIMEOUT_MS = 900_000;
/** torchrun's registered rendezvous backends (torch.distributed.elastic.rendezvous.registry). */
export const RDZV_BACKENDS = ['static', 'c10d', 'etcd', 'etcd-v2'] as const;
/** A run id longer than this cannot name the temp folders it is part of (NAME_MAX is 255 bytes). */
export const MAX_RUN_ID_LENGTH = 128;

export interface Rendezvous {
  runId: string;
  rdzvBackend: string;
  rdzvEndpoint: string | undefined;
  rdzvId: string;
  rdzvTimeoutMs: number;
  warnings: string[];
}

function resolveId(option: string, value: unknown, dflt: string): string {
  if (value === undefined) return dflt;
  if (typeof value !== 'string' || !/^[\w.-]+$/.test(value))
    fail(option, value, 'a non-empty string of letters, digits, `_`, `.` and `-`');
  if (value.length > MAX_RUN_ID_LENGTH)
    fail(option, `${value.slice(0, 20)}…`, `at most ${MAX_RUN_ID_LENGTH} characters long (it names temp folders)`);
  return value;
}

/** `runId` and the torchrun backend's rendezvous: backend, endpoint, id, timeout. */
export function resolveRendezvous(
  options: Record<string, unknown>,
  backend: 'native' | 'torchrun',
  elastic: boolean,
): Rendezvous {
  const runId = resolveId('runId', options.runId, 'none');
  const rdzvId = resolveId('rdzvId', options.rdzvId, runId);
  let rdzvBackend: string = elastic ? 'c10d' : 'static';
  if (options.rdzvBackend !== undefined) rdzvBackend = validateOneOf('rdzvBackend', options.rdzvBackend, RDZV_BACKENDS);
  const rdzvEndpoint = options.rdzvEndpoint;
  if (rdzvEndpoint !== undefined && (typeof rdzvEndpoint !== 'string' || !/^\S+:\d{1,5}$/.test(rdzvEndpoint)))
    fail('rdzvEndpoint', rdzvEndpoint, '`HOST:PORT`');
  const rdzvTimeoutMs = integerOr('rdzvTimeoutMs', options.rdzvTimeoutMs, 1, 86_400_000 * 7, DEFAULT_RDZV_TIMEOUT_MS);
  const warnings: string[] = [];
  if (backend === 'native' && (options.rdzvBackend ?? options.rdzvEndpoint ?? options.rdzvId) !== undefined) {
    warnings.push(
      '--rdzv-backend, --rdzv-endpoint and --rdzv-id only apply to --backend torchrun; the native backend uses --master-addr and --master-port.',
    );
  }
  return { runId, rdzvBackend, rdzvEndpoint, rdzvId, rdzvTimeoutMs, warnings };
}
