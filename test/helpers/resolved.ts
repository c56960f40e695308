import { torchrunEntryArgv } from '../../src/launch/torchrun/argv.js';
import type { ResolvedOptions } from '../../src/model/types.js';

/**
 * A complete `ResolvedOptions` of a static single-node job of 2 ranks (torch 2.11, `/usr/bin/python3`), with
 * `overrides`: what `resolveOptions` would hand to the planner, for tests of what comes after it.
 */
export function resolvedOptions(overrides: Partial<ResolvedOptions> = {}): ResolvedOptions {
  const nprocPerNode = overrides.nprocPerNode ?? 2;
  return {
    entry: { script: 'train.py' },
    backend: 'torchrun',
    python: '/usr/bin/python3',
    torchVersion: '2.11.0+cu128',
    nprocPerNode,
    minNodes: 1,
    maxNodes: 1,
    nodeRank: 0,
    masterAddr: '127.0.0.1',
    masterPort: 29500,
    masterPortFixed: true,
    maxRestarts: 0,
    runId: 'none',
    logDir: undefined,
    name: undefined,
    redirects: Array(nprocPerNode).fill('none'),
    tee: Array(nprocPerNode).fill('none'),
    localRanksFilter: new Set(Array.from({ length: nprocPerNode }, (_, i) => i)),
    gracePeriodMs: 30_000,
    stopSignal: 'SIGTERM',
    cwd: '/work',
    env: {},
    signal: undefined,
    rdzvTimeoutMs: 900_000,
    rdzvBackend: 'static',
    rdzvEndpoint: undefined,
    rdzvId: 'none',
    handleSignals: true,
    console: true,
    socketIfname: undefined,
    rdzvIsHost: undefined,
    warnings: [],
    deathSigWrapper: [],
    runDir: '/tmp/ddprun-run',
    configDir: undefined,
    insight: { resourceIntervalMs: 0, hangTimeoutMs: 0, onHang: 'dump', stackDumps: false },
    record: false,
    recordMaxLogBytes: 64 * 1024 * 1024,
    resume: true,
    ...overrides,
  };
}

/**
 * `torchrunEntryArgv(entry)` led by `--monitor_interval 0.1`, as ddprun's torchrun backend passes it: torch 1.13's
 * agent otherwise polls its workers every 5 s, and each run would wait that long to see them end.
 */
export const backendEntryArgv = (entry: Parameters<typeof torchrunEntryArgv>[0]): string[] => [
  '--monitor_interval',
  '0.1',
  ...torchrunEntryArgv(entry),
];
