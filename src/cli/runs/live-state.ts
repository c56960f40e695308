import type { RankResources } from '../../model/types.js';
import { formatBytes } from '../../insight/format-bytes.js';
import { readRunEvents } from '../../store/read.js';
import type { RunInfo } from '../../store/types.js';
import { trainingProgressOf } from '../training-status.js';

/** Every rank's latest sample added up, from the run's last stored `resources` event. */
export interface ResourceTotals {
  cpuPercent: number;
  rssBytes: number;
  gpuMemoryBytes: number | undefined;
  /** When the sample was recorded (ISO): the store thins samples as a run ages (every 10 s after 10 min, …). */
  t: string;
}

/** What `ps` and `show` print of a live run: its overall progress and its latest resources. */
export interface LiveState {
  progress: string;
  resources: ResourceTotals | undefined;
}

function totalsOf(ranks: readonly RankResources[], t: string): ResourceTotals | undefined {
  if (ranks.length === 0) return undefined;
  let cpuPercent = 0;
  let rssBytes = 0;
  let gpuMemoryBytes: number | undefined;
  for (const r of ranks) {
    cpuPercent += Number(r.cpuPercent) || 0;
    rssBytes += Number(r.rssBytes) || 0;
    if (typeof r.gpuMemoryBytes === 'number') gpuMemoryBytes = (gpuMemoryBytes ?? 0) + r.gpuMemoryBytes;
  }
  return { cpuPercent, rssBytes, gpuMemoryBytes, t };
}

/**
 * A running run's progress and resources, from one read of its stored events (#24 item 8); nothing for a run that is
 * not running (its summary has the peaks).
 */
export function liveStateOf(run: RunInfo): LiveState {
  if (run.status !== 'running') return { progress: '', resources: undefined };
  const events = readRunEvents(run.id, { only: ['epoch', 'progress', 'resources'] });
  const last = events.filter((e) => e.event === 'resources').at(-1) as
    { ranks?: RankResources[]; t?: string } | undefined;
  return {
    progress: trainingProgressOf(events),
    resources: Array.isArray(last?.ranks) ? totalsOf(last.ranks, String(last.t)) : undefined,
  };
}

/** `CPU 184% · RSS 3.1 GB · GPU 22.4 GB`. */
export function formatResources(r: ResourceTotals): string {
  const gpu = r.gpuMemoryBytes === undefined ? '' : ` · GPU ${formatBytes(r.gpuMemoryBytes)}`;
  return `CPU ${Math.round(r.cpuPercent)}% · RSS ${formatBytes(r.rssBytes)}${gpu}`;
}
