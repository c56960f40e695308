import { planAttempt } from './plan.js';
import { planAgent } from '../torchrun/backend.js';
import type { LaunchPlan, ResolvedOptions } from '../../model/types.js';

/** What a launch starts first, for either backend: the ranks (native), or torchrun's agent (torchrun). */
export function planLaunch(
  resolved: ResolvedOptions,
  attempt: number,
  masterPort: number,
  entryFile?: string,
): LaunchPlan {
  return resolved.backend === 'torchrun'
    ? planAgent(resolved, masterPort, entryFile)
    : planAttempt(resolved, attempt, masterPort, entryFile);
}
