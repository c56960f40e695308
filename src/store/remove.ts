import { lstatSync, rmSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { getRun } from './read.js';
import { runsDir, stateDir } from './paths.js';
import type { RunInfo, StoreOptions } from './types.js';

/** `ddprun rm` of a run whose launcher is alive: it would lose its record while it runs. Nothing was removed. */
export class RunStillRunningError extends UsageError {
  constructor(
    message: string,
    readonly runId: string,
  ) {
    super(message, 'id');
    this.name = 'RunStillRunningError';
  }
}

/**
 * Removes runs from the run store (`ddprun rm`): each `query` is an id, a unique prefix, a name or `last`. Every run is
 * checked before any is removed: a running one is refused (stop it first), and so is anything but a real folder
 * directly under `<state>/runs` (a symbolic link is never followed). Only the store's own run folder goes: the run's
 * `--log-dir` copy and its training folder stay where they are. Returns the runs removed.
 */
export function removeRuns(queries: readonly string[], options: StoreOptions = {}): RunInfo[] {
  const root = runsDir(options.stateDir ?? stateDir());
  const runs = queries.map((query) => getRun(query, options));
  for (const run of runs) {
    if (run.status === 'running')
      throw new RunStillRunningError(
        `The run ${run.id} is still running: stop it first (\`ddprun stop ${run.id}\`). Nothing was removed.`,
        run.id,
      );
    if (path.dirname(run.dir) !== root || !lstatSync(run.dir).isDirectory())
      throw new UsageError(`${run.dir} is not a run folder of the store. Nothing was removed.`, 'id');
  }
  for (const run of new Map(runs.map((r) => [r.id, r])).values()) rmSync(run.dir, { recursive: true, force: true });
  return runs;
}
