import type { ResolvedOptions } from '../../model/types.js';

/** Variables of the rank contract that ddprun itself sets per rank, and that a shell or an outer launcher may leave. */
export const RANK_VARIABLES = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR'] as const;

/** In a pod, these are the pod-level contract (PyTorchJob) that ddprun reads as --node-rank/--nnodes/--master-addr. */
const POD_CONTRACT = new Set(['RANK', 'WORLD_SIZE', 'MASTER_ADDR']);

function span(first: number, count: number): string {
  return count === 1 ? String(first) : `${first}–${first + count - 1}`;
}

function shown(value: string): string {
  return /^[\w.:@/-]*$/.test(value) && value.length <= 64 ? value : JSON.stringify(value.slice(0, 64));
}

/**
 * `stray-rank-env`: the warning for `RANK`, `WORLD_SIZE`, `LOCAL_RANK` or `MASTER_ADDR` reaching ddprun (left in the
 * shell, an outer launcher's, or given in `env`), with what ddprun did with them: each rank gets its own values instead
 * (none, or one warning).
 */
export function strayRankEnvWarnings(
  resolved: Pick<ResolvedOptions, 'env' | 'nprocPerNode' | 'maxNodes' | 'nodeRank' | 'masterAddr' | 'virtualLocalRank'>,
  inherited: NodeJS.ProcessEnv,
): string[] {
  const inPod = inherited.KUBERNETES_SERVICE_HOST !== undefined;
  const stray = RANK_VARIABLES.flatMap((name) => {
    const given = resolved.env[name];
    if (given !== undefined) return [`${name}=${shown(given)} (given in \`env\`)`];
    const value = inherited[name];
    return value === undefined || (inPod && POD_CONTRACT.has(name)) ? [] : [`${name}=${shown(value)}`];
  });
  if (stray.length === 0) return [];
  const n = resolved.nprocPerNode;
  const own = [
    `RANK ${span(resolved.nodeRank * n, n)}`,
    `WORLD_SIZE ${n * resolved.maxNodes}`,
    `LOCAL_RANK ${resolved.virtualLocalRank ? '0' : span(0, n)}`,
    `MASTER_ADDR ${resolved.masterAddr}`,
  ];
  const inheritedNames = stray.filter((s) => !s.endsWith('`env`)')).map((s) => s.split('=')[0]);
  const silence = [
    ...(inheritedNames.length ? [`\`unset ${inheritedNames.join(' ')}\``] : []),
    ...(inheritedNames.length < stray.length ? ['leave them out of `env`'] : []),
  ].join(' and ');
  return [
    `stray-rank-env: ${stray.join(', ')} reached ddprun (left in the shell, or set by an outer launcher): ` +
      `ddprun ignored ${stray.length === 1 ? 'it' : 'them'} and gave each rank its own (${own.join(', ')}). ` +
      `${silence} to silence this; the job's shape comes from --nproc-per-node, --nnodes, --node-rank and --master-addr.`,
  ];
}
