import type { EventName, EventPayload, EventPublisher, EventSink } from '../model/event-stream.js';
import type { LaunchEvents, RankResult, RankStacks, ResolvedOptions, RootCause } from '../model/types.js';
import { stackFileOf } from './bootstrap.js';
import type { WatchedGroup } from './group-view.js';
import { HangDetector, hangRootCause } from './hang.js';
import { NvidiaSmi } from './nvidia-smi.js';
import { ResourceSampler } from './sampler.js';
import { dumpStacks, formatStacks } from './stacks.js';

type Started = LaunchEvents['started'][0];
type Exited = LaunchEvents['exited'][0];

let nvidiaSmi: NvidiaSmi | undefined | null = null;

/** Looks for nvidia-smi once per process. */
function findNvidiaSmi(): NvidiaSmi | undefined {
  if (nvidiaSmi === null) nvidiaSmi = NvidiaSmi.find();
  return nvidiaSmi;
}

/**
 * Watches one attempt, as a sink of its stream: follows its ranks through `started`/`exited`, samples their resources into `resources`
 * events, adds the peaks to the ranks' results, reports hangs with every rank's stacks, and dumps the stacks of
 * ranks that outlive a teardown's grace period.
 */
export class AttemptMonitor implements EventSink {
  readonly sampler: ResourceSampler;
  /** Set when `onHang: 'stop'` stopped the attempt: its root cause. */
  hang: RootCause | undefined;
  private readonly pids = new Map<number, number>();
  private readonly hangs: HangDetector | undefined;
  private dumping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly resolved: ResolvedOptions,
    private readonly events: EventPublisher,
    private readonly attempt: number,
    private readonly group: WatchedGroup,
  ) {
    const { resourceIntervalMs, hangTimeoutMs, stackDumps } = resolved.insight;
    if (hangTimeoutMs > 0)
      this.hangs = new HangDetector(
        hangTimeoutMs,
        () => group.lastOutputAt,
        (idleMs) => void this.onHang(idleMs),
      );
    this.sampler = new ResourceSampler(
      resourceIntervalMs,
      (ranks) => {
        events.publish('resources', { attempt, ranks });
        this.hangs?.observe(ranks);
      },
      resourceIntervalMs > 0 ? findNvidiaSmi() : undefined,
    );
    if (stackDumps) group.beforeKill = () => this.dumpStuck();
    this.sampler.start();
  }

  wants(name: EventName): boolean {
    return name === 'started' || name === 'exited';
  }

  write(name: EventName, payload: EventPayload): void {
    const e = payload as Started | Exited;
    if (e.attempt !== this.attempt) return;
    if (name === 'started') {
      this.pids.set(e.localRank, (e as Started).pid);
      this.sampler.track(e.rank, e.localRank, (e as Started).pid);
    } else {
      const pid = this.pids.get(e.localRank);
      if (pid !== undefined) this.sampler.untrack(pid);
    }
  }

  /** Every live rank's Python stacks, one dump at a time (each rank's file is read from where the last dump ended). */
  stacks(): Promise<RankStacks[]> {
    const targets = this.group
      .liveRanks()
      .map((r) => ({ rank: r.rank, localRank: r.localRank, pid: r.pid, stackFile: stackFileOf(r.errorFile) }));
    const next = this.dumping.then(() => dumpStacks(targets));
    this.dumping = next.catch(() => undefined);
    return next;
  }

  /** `dumpStacks()` / `ddprun stacks`: the dump, as a `stacks` event too. */
  async requestStacks(): Promise<RankStacks[]> {
    const ranks = await this.stacks();
    this.events.publish('stacks', { attempt: this.attempt, reason: 'request', ranks });
    return ranks;
  }

  private async onHang(idleMs: number): Promise<void> {
    const action = this.resolved.insight.onHang;
    const ranks = await this.stacks();
    this.events.publish('hang', { attempt: this.attempt, idleMs, action, ranks });
    if (action === 'stop' && !this.hang) {
      this.hang = hangRootCause(idleMs, ranks);
      this.group.stop(this.resolved.stopSignal);
    }
  }

  // A teardown's grace period is over and these ranks are still there: where are they stuck?
  private async dumpStuck(): Promise<void> {
    const ranks = await this.stacks();
    this.events.publish('stacks', { attempt: this.attempt, reason: 'teardown', ranks });
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
    this.group.beforeKill = undefined;
  }
}

/** "rank 0 was stuck in `all_reduce` (…), called from `step` at train.py:42", then the stacks. */
export function formatTeardownStacks(ranks: readonly RankStacks[]): string {
  const stuck = ranks.map((r) => `rank ${r.rank} was stuck in ${r.where || 'no Python frame'}`).join('; ');
  return `ddprun: still running after the grace period, SIGKILL follows: ${stuck}. Python stacks:\n${formatStacks(ranks)}`;
}
