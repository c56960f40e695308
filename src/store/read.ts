import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { identityState } from '../os/process-identity.js';
import { EVENTS_FILE, RUN_FILE, runDir, runsDir, stateDir } from './paths.js';
import { isRunId } from './run-id.js';
import type { RunInfo, RunRecord, RunStatus, StoreOptions, StoredEvent } from './types.js';

/** An id (or prefix) that names no run, or several. */
export class RunNotFoundError extends UsageError {
  readonly query: string;
  readonly candidates: readonly string[];
  constructor(message: string, query: string, candidates: readonly string[]) {
    super(message, 'id');
    this.name = 'RunNotFoundError';
    this.query = query;
    this.candidates = candidates;
  }
}

function storeOf(options: StoreOptions): string {
  return options.stateDir ?? stateDir();
}

/** The ids in the store, oldest first (ids sort by start time). */
export function runIds(options: StoreOptions = {}): string[] {
  try {
    return readdirSync(runsDir(storeOf(options)), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isRunId(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Whether the run's launcher is this record's process: 'dead' when its pid is gone or now names another process. */
export function launcherState(record: Pick<RunRecord, 'launcher' | 'host'>): 'alive' | 'dead' | 'unknown' {
  const { pid, startTime, bootId } = record.launcher;
  return identityState({ pid, start: startTime, boot: bootId, host: record.host });
}

/** The status a reader should believe: `lost` when the record says running but its launcher is gone. */
export function statusOf(record: RunRecord): RunStatus {
  if (record.status !== 'running') return record.status;
  return launcherState(record) === 'dead' ? 'lost' : 'running';
}

/** A run's record as stored (status as written), or undefined when it has none (yet) or it cannot be read. */
export function readRecord(dir: string): RunRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path.join(dir, RUN_FILE), 'utf8')) as RunRecord;
    return typeof record === 'object' && record !== null && typeof record.id === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

function infoOf(dir: string, record: RunRecord): RunInfo {
  const status = statusOf(record);
  const started = Date.parse(record.startedAt);
  const ended = record.endedAt ? Date.parse(record.endedAt) : Date.now();
  return { ...record, status, dir, elapsedMs: Math.max(0, ended - started) };
}

/**
 * The full id of the run that `query` names: the id itself or a unique prefix of it. Throws `RunNotFoundError`
 * (a usage error) naming the candidates when no run or several match.
 */
export function resolveRunId(query: string, options: StoreOptions = {}): string {
  const ids = runIds(options);
  if (ids.includes(query)) return query;
  const matches = query ? ids.filter((id) => id.startsWith(query)) : [];
  if (matches.length === 1) return matches[0] as string;
  if (matches.length > 1) {
    const shown = matches.slice(-10).reverse();
    throw new RunNotFoundError(
      `The run id ${JSON.stringify(query)} is ambiguous: ${matches.length} runs start with it (${shown.join(', ')}${matches.length > shown.length ? ', …' : ''}). Give more of the id.`,
      query,
      matches,
    );
  }
  const recent = ids.slice(-5).reverse();
  throw new RunNotFoundError(
    `No run has the id ${JSON.stringify(query)} in ${runsDir(storeOf(options))}.${recent.length ? ` Recent runs: ${recent.join(', ')} (see \`ddprun ps --all\`).` : ' The store has no runs.'}`,
    query,
    [],
  );
}

/** A run by id or unique prefix, with its live status; throws `RunNotFoundError` for an unknown or ambiguous id. */
export function getRun(id: string, options: StoreOptions = {}): RunInfo {
  const full = resolveRunId(id, options);
  const dir = runDir(storeOf(options), full);
  const record = readRecord(dir);
  if (!record)
    throw new RunNotFoundError(`The run ${full} has no readable record (${path.join(dir, RUN_FILE)}).`, id, []);
  return infoOf(dir, record);
}

export interface ListRunsOptions extends StoreOptions {
  /** Finished runs too (succeeded, failed, stopped, lost). @default false: running ones only */
  all?: boolean;
}

/** The runs in the store, newest first: running ones, or with `all` every one. */
export function listRuns(options: ListRunsOptions = {}): RunInfo[] {
  const state = storeOf(options);
  const runs: RunInfo[] = [];
  for (const id of runIds(options)) {
    const dir = runDir(state, id);
    const record = readRecord(dir);
    if (!record) continue;
    const info = infoOf(dir, record);
    if (options.all || info.status === 'running') runs.push(info);
  }
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
}

/** Parses events.jsonl text; an unfinished last line (being written) is left out. */
export function parseEvents(text: string): StoredEvent[] {
  const events: StoredEvent[] = [];
  const lines = text.split('\n');
  lines.pop(); // after the last '\n': empty, or a line still being written
  for (const line of lines) {
    if (!line) continue;
    try {
      events.push(JSON.parse(line) as StoredEvent);
    } catch {
      // A line cut short by a full disk: skip it, keep the rest.
    }
  }
  return events;
}

/** A run's events in order (every event its launch emitted, `line` excepted). */
export function readRunEvents(id: string, options: StoreOptions = {}): StoredEvent[] {
  const dir = runDir(storeOf(options), resolveRunId(id, options));
  try {
    return parseEvents(readFileSync(path.join(dir, EVENTS_FILE), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
