import type { RankResources } from '../model/types.js';
import { memoryCgroupOf } from './kernel-log.js';
import { CLOCK_TICKS_PER_SECOND, pageBytes, readTree } from './proc-tree.js';
import type { GpuUse, NvidiaSmi } from './nvidia-smi.js';

const CGROUP_EVERY = 3;

interface Tracked {
  rank: number;
  localRank: number;
  pid: number;
  /** Highest utime+stime seen per pid of the tree: their sum is the tree's CPU time, exited children included. */
  ticks: Map<number, number>;
  peakRssBytes: number;
  peakGpuMemoryBytes: number | undefined;
  cgroupDir: string | undefined;
  last: RankResources | undefined;
  alive: boolean;
}

export interface RankPeaks {
  peakRssBytes: number;
  cpuSeconds: number;
  peakGpuMemoryBytes: number | undefined;
}

/**
 * Samples each rank's process tree from /proc (no `ps` per sample): CPU since the previous sample, RSS, and, where
 * nvidia-smi exists, GPU memory and utilisation. Synchronous reads of a few small files per process.
 */
export class ResourceSampler {
  private readonly tracked = new Map<number, Tracked>();
  private lastAt = Date.now();
  private gpu: Map<number, GpuUse> | undefined;
  private gpuBusy = false;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly onSample: (ranks: RankResources[]) => void,
    private readonly nvidiaSmi: NvidiaSmi | undefined,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.lastAt = Date.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts following a rank (its pid is the root of its tree). */
  track(rank: number, localRank: number, pid: number): void {
    this.tracked.set(pid, {
      rank,
      localRank,
      pid,
      ticks: new Map(),
      peakRssBytes: 0,
      peakGpuMemoryBytes: undefined,
      cgroupDir: undefined,
      last: undefined,
      alive: true,
    });
  }

  /** Stops sampling a rank that exited; its peaks stay. */
  untrack(pid: number): void {
    const t = this.tracked.get(pid);
    if (t) {
      t.alive = false;
      t.last = undefined;
    }
  }

  /** Samples every live rank now and reports them (the timer calls this). */
  tick(): RankResources[] {
    const now = Date.now();
    const seconds = Math.max((now - this.lastAt) / 1000, 1e-3);
    this.lastAt = now;
    this.refreshGpu();
    const page = pageBytes();
    const out: RankResources[] = [];
    for (const t of this.tracked.values()) {
      if (!t.alive) continue;
      const tree = readTree(t.pid);
      if (tree.length === 0) {
        t.alive = false;
        t.last = undefined;
        continue;
      }
      let cpuTicks = 0;
      let rss = 0;
      let gpuBytes: number | undefined;
      let gpuUtil: number | undefined;
      for (const p of tree) {
        const before = t.ticks.get(p.pid) ?? 0;
        cpuTicks += Math.max(p.cpuTicks - before, 0);
        t.ticks.set(p.pid, Math.max(p.cpuTicks, before));
        rss += p.rssPages * page;
        const g = this.gpu?.get(p.pid);
        if (g) {
          gpuBytes = (gpuBytes ?? 0) + g.memoryBytes;
          if (g.utilPercent !== undefined) gpuUtil = Math.max(gpuUtil ?? 0, g.utilPercent);
        }
      }
      // A rank may be moved into another cgroup while it runs; a look every few samples is enough to name its limit.
      if (this.ticks++ % CGROUP_EVERY === 0 || t.cgroupDir === undefined)
        t.cgroupDir = memoryCgroupOf(t.pid) ?? t.cgroupDir;
      t.peakRssBytes = Math.max(t.peakRssBytes, rss);
      if (gpuBytes !== undefined) t.peakGpuMemoryBytes = Math.max(t.peakGpuMemoryBytes ?? 0, gpuBytes);
      const sample: RankResources = {
        rank: t.rank,
        localRank: t.localRank,
        pid: t.pid,
        processes: tree.length,
        cpuPercent: Math.round((cpuTicks / CLOCK_TICKS_PER_SECOND / seconds) * 1000) / 10,
        rssBytes: rss,
      };
      if (gpuBytes !== undefined) sample.gpuMemoryBytes = gpuBytes;
      if (gpuUtil !== undefined) sample.gpuUtilPercent = gpuUtil;
      t.last = sample;
      out.push(sample);
    }
    if (out.length > 0) this.onSample(out);
    return out;
  }

  /** The last sample of the rank with this root pid, while it lives. */
  latest(pid: number): RankResources | undefined {
    return this.tracked.get(pid)?.last;
  }

  /** Peaks of the rank with this root pid; undefined when it was never sampled. */
  peaks(pid: number): RankPeaks | undefined {
    const t = this.tracked.get(pid);
    if (!t || t.peakRssBytes === 0) return undefined;
    let ticks = 0;
    for (const v of t.ticks.values()) ticks += v;
    return {
      peakRssBytes: t.peakRssBytes,
      cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
      peakGpuMemoryBytes: t.peakGpuMemoryBytes,
    };
  }

  /** The memory cgroup the rank was last seen in. */
  cgroupDir(pid: number): string | undefined {
    return this.tracked.get(pid)?.cgroupDir;
  }

  // nvidia-smi takes tens of milliseconds: it runs beside the samples, and each sample uses the latest answer.
  private refreshGpu(): void {
    if (!this.nvidiaSmi || this.gpuBusy) return;
    this.gpuBusy = true;
    this.nvidiaSmi
      .query()
      .then(
        (gpu) => (this.gpu = gpu),
        () => (this.gpu = undefined),
      )
      .finally(() => (this.gpuBusy = false));
  }
}
