import { rootCauseOf, type FailedRank } from './failure.js';
import type { ResolvedOptions, RootCause } from '../model/types.js';
import type { ResourceSampler } from './sampler.js';
import { explainFailure } from './explain.js';
import { gatherFailureFacts, trainerSource, type FactSources } from './failure-facts.js';
import type { FailedAttempt, WatchedGroup } from './group-view.js';

/**
 * The rank to blame among those that failed: the first, unless it failed only because another one did (its collective
 * broke when a peer went away) and another rank failed for a reason of its own.
 */
export function chooseRootCause(candidates: readonly RootCause[]): RootCause | undefined {
  const own = candidates.find((rc) => explainFailure(rc).kind !== 'peer-failed');
  return own ?? candidates[0];
}

/** The root cause with its `explanation` filled in from its text and what the machine says about it. */
export async function explainRootCause(rc: RootCause, sources: FactSources): Promise<RootCause> {
  const facts = await gatherFailureFacts(rc, sources).catch(() => ({}));
  return { ...rc, explanation: explainFailure(rc, facts) };
}

/** The root cause of a failed attempt: chosen among its failed ranks (see `chooseRootCause`), then explained. */
export function explainedRootCause(
  resolved: ResolvedOptions,
  group: Pick<WatchedGroup, 'stderrTailOf'>,
  first: FailedRank,
  outcome: FailedAttempt,
  port: number,
  sampler: ResourceSampler,
): Promise<RootCause> {
  const candidates = [first, ...outcome.laterFailures].map((failed) =>
    rootCauseOf({ ...failed, stderrTail: group.stderrTailOf(failed.rank) }),
  );
  const chosen = chooseRootCause(candidates) as RootCause;
  const rank = outcome.ranks.find((r) => r.rank === chosen.rank);
  return explainRootCause(chosen, {
    python: resolved.python,
    masterPort: port,
    durationMs: rank?.durationMs ?? 0,
    peakRssBytes: rank?.peakRssBytes,
    cgroupDir: chosen.pid === undefined ? undefined : sampler.cgroupDir(chosen.pid),
    trainer: trainerSource(resolved),
  });
}
