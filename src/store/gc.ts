import { lstatSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { readRecord, runIds, statusOf } from './read.js';
import { runDir, runsDir, stateDir } from './paths.js';
import type { RunStatus, StoreOptions } from './types.js';
import { DEFAULT_KEEP_RUNS, DEFAULT_MAX_AGE_DAYS } from './gc-defaults.js';

/** A folder without a record is a run being created: left alone unless older than this. */
const UNRECORDED_GRACE_MS = 24 * 60 * 60 * 1000;

export interface PruneRunsOptions extends StoreOptions {
  /** Finished runs that ended longer ago than this go. @default 30 */
  maxAgeDays?: number;
  /** Finished runs beyond the newest `keep` go. @default 200 */
  keep?: number;
  /** List what would go, remove nothing. @default false */
  dryRun?: boolean;
  /** The clock (tests). */
  now?: number;
}

export interface PrunedRun {
  id: string;
  dir: string;
  status: RunStatus | 'unrecorded';
  /** Why it goes: too old, or beyond the newest `keep`. */
  reason: 'age' | 'count';
}

/**
 * Removes finished runs (succeeded, failed, stopped, lost) that ended more than `maxAgeDays` ago or are beyond the
 * newest `keep`; a running run is never removed. Only folders named like run ids directly under `<state>/runs` are
 * touched. Returns what was removed (or, with `dryRun`, what would be).
 */
export async function pruneRuns(options: PruneRunsOptions = {}): Promise<PrunedRun[]> {
  const state = options.stateDir ?? stateDir();
  const now = options.now ?? Date.now();
  const maxAgeMs = (options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS) * 86_400_000;
  const keep = options.keep ?? DEFAULT_KEEP_RUNS;
  const pruned: PrunedRun[] = [];
  // Newest first: the first `keep` finished runs stay (unless too old).
  let finishedSeen = 0;
  for (const id of runIds({ stateDir: state }).reverse()) {
    const dir = runDir(state, id);
    const record = readRecord(dir);
    if (!record) {
      let age = 0;
      try {
        const stats = lstatSync(dir);
        if (!stats.isDirectory()) continue;
        age = now - stats.mtimeMs;
      } catch {
        continue;
      }
      if (age > Math.max(maxAgeMs, UNRECORDED_GRACE_MS)) pruned.push({ id, dir, status: 'unrecorded', reason: 'age' });
      continue;
    }
    const status = statusOf(record);
    if (status === 'running') continue;
    finishedSeen += 1;
    const endedAt = Date.parse(record.endedAt ?? record.startedAt);
    if (now - endedAt > maxAgeMs) pruned.push({ id, dir, status, reason: 'age' });
    else if (finishedSeen > keep) pruned.push({ id, dir, status, reason: 'count' });
  }
  if (!options.dryRun) {
    const root = runsDir(state);
    for (const run of pruned) {
      // Never anything but a run folder directly under <state>/runs, and never through a symbolic link.
      if (path.dirname(run.dir) !== root || !lstatSync(run.dir).isDirectory()) continue;
      await rm(run.dir, { recursive: true, force: true });
    }
  }
  return pruned;
}
