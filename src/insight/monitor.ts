import type { EventEmitter } from 'node:events';
import type { LaunchEvents, RankResult, ResolvedOptions } from '../launch/types.js';
import { NvidiaSmi } from './nvidia-smi.js';
import { ResourceSampler } from './sampler.js';

let nvidiaSmi: NvidiaSmi | undefined | null = null;

/** Looks for nvidia-smi once per process. */
function findNvidiaSmi(): NvidiaSmi | undefined {
  if (nvidiaSmi === null) nvidiaSmi = NvidiaSmi.find();
  return nvidiaSmi;
}

/**
 * Watches one attempt: follows its ranks through `started`/`exited`, samples their resources into `resources`
 * events, and adds the peaks to the ranks' results.
 */
export class AttemptMonitor {
  readonly sampler: ResourceSampler;
  private readonly pids = new Map<number, number>();
  private readonly onStarted = (e: LaunchEvents['started'][0]) => {
    if (e.attempt !== this.attempt) return;
    this.pids.set(e.localRank, e.pid);
    this.sampler.track(e.rank, e.localRank, e.pid);
  };
  private readonly onExited = (e: LaunchEvents['exited'][0]) => {
    const pid = this.pids.get(e.localRank);
    if (e.attempt === this.attempt && pid !== undefined) this.sampler.untrack(pid);
  };

  constructor(
    resolved: ResolvedOptions,
    private readonly events: EventEmitter<LaunchEvents>,
    private readonly attempt: number,
  ) {
    const interval = resolved.insight.resourceIntervalMs;
    this.sampler = new ResourceSampler(
      interval,
      (ranks) => events.emit('resources', { attempt, ranks }),
      interval > 0 ? findNvidiaSmi() : undefined,
    );
    events.on('started', this.onStarted);
    events.on('exited', this.onExited);
    this.sampler.start();
  }

  /** The root pid of a local rank. */
  pidOf(localRank: number): number | undefined {
    return this.pids.get(localRank);
  }

  /** The ranks' results with their peaks (peak RSS, CPU seconds, peak GPU memory) where sampled. */
  withPeaks(ranks: RankResult[]): RankResult[] {
    return ranks.map((r) => {
      const peaks = r.pid === undefined ? undefined : this.sampler.peaks(r.pid);
      if (!peaks) return r;
      const out: RankResult = { ...r, peakRssBytes: peaks.peakRssBytes, cpuSeconds: peaks.cpuSeconds };
      if (peaks.peakGpuMemoryBytes !== undefined) out.peakGpuMemoryBytes = peaks.peakGpuMemoryBytes;
      return out;
    });
  }

  dispose(): void {
    this.sampler.stop();
    this.events.off('started', this.onStarted);
    this.events.off('exited', this.onExited);
  }
}
