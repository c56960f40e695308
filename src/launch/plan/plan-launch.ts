import { nativeBackend, type Backend } from '../run/backend.js';
import { torchrunBackend } from '../torchrun/backend.js';
import type { LaunchPlan, ResolvedOptions } from '../../model/types.js';

/** The backend `resolved` names: ddprun's own (native), or torch's agent (torchrun). */
export function backendOf(resolved: ResolvedOptions): Backend {
  return resolved.backend === 'torchrun' ? torchrunBackend : nativeBackend;
}

/** What a launch starts first, for either backend: the ranks (native), or torchrun's agent (torchrun). */
export function planLaunch(
  resolved: ResolvedOptions,
  attempt: number,
  masterPort: number,
  entryFile?: string,
): LaunchPlan {
  return backendOf(resolved).plan(resolved, attempt, masterPort, entryFile);
}
