import { lookup } from 'node:dns/promises';
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
  /** Set when `masterAddr` must resolve to be accepted: the error to throw when it does not. */
  masterAddrLookup: (() => UsageError) | undefined;
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

function invalidAddr(value: string, problem: string): UsageError {
  // validateMasterAddr's text names the option and the value already: say them once.
  const reason = problem.replace(
    /^Expected `masterAddr` \(--master-addr\) to be an IP address or a host name, got .*?: /,
    '',
  );
  return new UsageError(
    `Invalid \`masterAddr\` ${JSON.stringify(value)}: ${reason.replace(/^./, (c) => c.toUpperCase())} Expected an IP address or a host name.`,
    'masterAddr',
  );
}

/**
 * The master address as torch's TCPStore takes it: an IPv6 address without the brackets a URL needs. A name
 * whose only flaw is `_` in a label (docker compose service names) is kept for a DNS check (`lookup`).
 */
function resolveMasterAddr(value: unknown): { masterAddr: string; lookup: (() => UsageError) | undefined } {
  if (value === undefined) return { masterAddr: '127.0.0.1', lookup: undefined };
  if (typeof value !== 'string') fail('masterAddr', value, 'an IP address or a host name (a string)');
  const problem = validateMasterAddr(value);
  if (problem && value.includes('_') && validateMasterAddr(value.replaceAll('_', 'x')) === undefined)
    return { masterAddr: value, lookup: () => invalidAddr(value, `${problem} (It does not resolve either.)`) };
  if (problem) throw invalidAddr(value, problem);
  return { masterAddr: value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value, lookup: undefined };
}

/** A master address with `_` is accepted when it resolves (as `a_b.host` does on a compose network). */
export async function checkMasterAddrResolves(nodes: Nodes): Promise<void> {
  if (!nodes.masterAddrLookup) return;
  try {
    await lookup(nodes.masterAddr);
  } catch {
    throw nodes.masterAddrLookup();
  }
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
  const { masterAddr, lookup: masterAddrLookup } = resolveMasterAddr(options.masterAddr);
  const masterPort =
    options.masterPort === undefined ? undefined : validateInteger('masterPort', options.masterPort, 1, 65535);
  return { minNodes, maxNodes, nodeRank, masterAddr, masterPort, masterAddrLookup };
}
