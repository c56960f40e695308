import type { LaunchResult } from '../model/types.js';
import { planResume } from '../launch/resume-run.js';
import type { StoreOptions } from '../store/types.js';

/**
 * What a failed or stopped foreground run prints last: its run id, where its summary is (`ddprun show`), and, when
 * `ddprun resume` would accept it, that command. Without it the id was only findable through `ddprun ps --all`.
 */
export function endHints(result: LaunchResult, runId: string | undefined, store: StoreOptions = {}): string {
  if (result.exitCode === 0 || runId === undefined) return '';
  const how = result.preempted
    ? `preempted by ${result.signal}`
    : result.signal
      ? `stopped by ${result.signal}`
      : `failed (exit code ${result.exitCode})`;
  let text = `ddprun: run ${runId} ${how}; its summary and logs: ddprun show ${runId}, ddprun logs ${runId}\n`;
  try {
    const plan = planResume(runId, {}, store);
    text += `ddprun: resume it from ${plan.from.checkpoint}: ddprun resume ${runId}\n`;
  } catch {
    // Not resumable (not a trainer run, no last.pt, its epochs done): the show hint is all.
  }
  return text;
}
