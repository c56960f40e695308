import type { RankResult } from '../model/types.js';
import type { FailedRank } from './failure.js';

// What insight reads of the runner, as narrow interfaces the runner's own types satisfy: insight never imports the
// runner (launch/ calls insight, not the other way round).

/** A running group of ranks, as the attempt monitor watches it (the runner's `RankGroup`). */
export interface WatchedGroup {
  readonly lastOutputAt: number;
  /** Called once the grace period of a teardown is over, before the ranks still there are killed. */
  beforeKill: (() => Promise<void>) | undefined;
  liveRanks(): { rank: number; localRank: number; pid: number; errorFile: string }[];
  stop(signal: NodeJS.Signals): void;
  stderrTailOf(rank: number): string;
}

/** A failed attempt's outcome, as the root cause is chosen from it (the runner's `GroupOutcome`). */
export interface FailedAttempt {
  readonly ranks: readonly RankResult[];
  readonly laterFailures: readonly FailedRank[];
}
