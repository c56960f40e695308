import type { RankResources, RankStacks, RootCause } from '../model/types.js';
import { formatStacks } from './stacks.js';
import { hostname } from 'node:os';

/** A rank's process tree using more than this much of a core counts as working (an idle Python uses ~0 %). */
export const BUSY_CPU_PERCENT = 5;

/**
 * Watches for silence: no rank printed a line and no rank's tree used CPU for `timeoutMs`. Reports once per
 * silence; new activity re-arms it.
 */
export class HangDetector {
  private cpuActiveAt: number;
  private reportedAt: number | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly lastOutputAt: () => number,
    private readonly onHang: (idleMs: number) => void,
    now = Date.now(),
  ) {
    this.cpuActiveAt = now;
  }

  /** Called with every resource sample. */
  observe(ranks: readonly RankResources[], now = Date.now()): void {
    if (ranks.some((r) => r.cpuPercent > BUSY_CPU_PERCENT)) this.cpuActiveAt = now;
    const activeAt = Math.max(this.cpuActiveAt, this.lastOutputAt());
    if (this.reportedAt !== undefined) {
      if (activeAt > this.reportedAt) this.reportedAt = undefined;
      else return;
    }
    const idleMs = now - activeAt;
    if (idleMs >= this.timeoutMs) {
      this.reportedAt = now;
      this.onHang(idleMs);
    }
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The console report of a hang: who is idle, for how long, and every rank's stacks. */
export function formatHang(idleMs: number, ranks: readonly RankStacks[], action: 'dump' | 'stop'): string {
  const idle = ranks.map((r) => r.rank).join(', ');
  return [
    `ddprun: hang: no rank printed a line or used CPU for ${seconds(idleMs)} (idle: rank${ranks.length === 1 ? '' : 's'} ${idle}). Python stacks (all threads):`,
    formatStacks(ranks),
    action === 'stop'
      ? 'ddprun: stopping the job (--on-hang stop).'
      : 'ddprun: the job keeps running (--on-hang dump); a new report comes only after new activity.',
  ].join('\n');
}

/** The root cause of a job stopped for a hang. */
export function hangRootCause(idleMs: number, ranks: readonly RankStacks[]): RootCause {
  const first = ranks[0];
  const where = ranks
    .filter((r) => r.where)
    .map((r) => `rank ${r.rank} is in ${r.where}`)
    .join('; ');
  return {
    rank: first?.rank ?? 0,
    localRank: first?.localRank ?? 0,
    pid: first?.pid,
    host: hostname(),
    time: new Date().toISOString(),
    exitCode: null,
    signal: null,
    traceback: formatStacks(ranks),
    source: 'stacks',
    message: `hang: no rank printed a line or used CPU for ${seconds(idleMs)}`,
    explanation: {
      kind: 'hang',
      message: `No rank printed a line or used CPU for ${seconds(idleMs)}${where ? `: ${where}` : ''}.`,
      hint: 'A rank waits in a collective for a rank that never joins it: find the rank whose stack is elsewhere (a slow step, a data-loader, a different collective); TORCH_DISTRIBUTED_DEBUG=DETAIL checks that ranks call the same collectives.',
    },
  };
}
