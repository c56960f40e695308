import type { RootCause } from '../launch/types.js';
import { explainFailure } from './explain.js';
import { gatherFailureFacts, type FactSources } from './failure-facts.js';

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
