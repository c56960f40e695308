import { UsageError } from '../../errors.js';
import { validateMasterAddr } from './netif.js';
import { fail, integerOr, validateInteger } from './validators.js';

/** torchrun's default for multi-node static rendezvous. */
export const DEFAULT_MULTINODE_PORT = 29500;

export interface Nodes {
  minNodes: number;
  maxNodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number | undefined;
}

function resolveNnodes(value: unknown, backend: 'native' | 'torchrun'): [number, number] {
  if (value === undefined) return [1, 1];
  if (typeof value === 'number') {
    const n = validateInteger('nnodes', value, 1, 100_000);
    return [n, n];
  }
  const match = typeof value === 'string' ? /^(\d+)(?::(\d+))?$/.exec(value) : null;
  if (!match) fail('nnodes', value, "a positive integer, or 'MIN:MAX' with the torchrun backend");
  const min = Number(match[1]);
  const max = Number(match[2] ?? match[1]);
  if (min < 1 || max < min || max > 100_000) fail('nnodes', value, "'MIN:MAX' with 1 <= MIN <= MAX <= 100000");
  if (min !== max && backend !== 'torchrun') {
    throw new UsageError(
      `Elastic membership (\`nnodes\` ${JSON.stringify(value)}) needs torchrun's c10d rendezvous: add --backend torchrun.`,
      'nnodes',
    );
  }
  return [min, max];
}

/** The master address as torch's TCPStore takes it: an IPv6 address without the brackets a URL needs. */
function resolveMasterAddr(value: unknown): string {
  if (value === undefined) return '127.0.0.1';
  if (typeof value !== 'string') fail('masterAddr', value, 'an IP address or a host name (a string)');
  const problem = validateMasterAddr(value);
  if (problem) throw new UsageError(`Invalid \`masterAddr\` ${JSON.stringify(value)}: ${problem}`, 'masterAddr');
  return value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
}

/** `nnodes`, `nodeRank`, `masterAddr`, `masterPort`: where this node sits and where the nodes meet. */
export function resolveNodes(options: Record<string, unknown>, backend: 'native' | 'torchrun'): Nodes {
  const [minNodes, maxNodes] = resolveNnodes(options.nnodes, backend);
  const nodeRank = integerOr('nodeRank', options.nodeRank, 0, Number.MAX_SAFE_INTEGER, 0);
  if (minNodes === maxNodes && nodeRank >= maxNodes) {
    throw new UsageError(
      `\`nodeRank\` ${nodeRank} must be smaller than \`nnodes\` ${maxNodes} (node ranks are 0 … ${maxNodes - 1}).`,
      'nodeRank',
    );
  }
  const masterAddr = resolveMasterAddr(options.masterAddr);
  const masterPort =
    options.masterPort === undefined ? undefined : validateInteger('masterPort', options.masterPort, 1, 65535);
  return { minNodes, maxNodes, nodeRank, masterAddr, masterPort };
}
