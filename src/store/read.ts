import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DdprunError, UsageError } from '../errors.js';
import { identityState } from '../os/process-identity.js';
import { scanEventsFile } from './event-scan.js';
import { EVENTS_FILE, RUN_FILE, runDir, runsDir, stateDir } from './paths.js';
import { checkRecord } from './record-schema.js';
import { isRunId } from './run-id.js';
import { LAST_RUN, isRunName } from './run-name.js';
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
  let ids: string[];
  try {
    ids = readdirSync(runsDir(storeOf(options)), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isRunId(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return inStartOrder(ids, storeOf(options));
}

/** The length of a run id's time part (`YYYYMMDD-HHMMSS`): ids that share it began within the same second. */
const ID_SECOND = 15;

/**
 * Sorted ids in the order their runs began: an id orders runs by the second they began, and its random suffix says
 * nothing within a second, so runs of the same second are ordered by their records' `startedAt` (milliseconds).
 */
function inStartOrder(ids: string[], state: string): string[] {
  for (let i = 0; i < ids.length;) {
    const second = (ids[i] as string).slice(0, ID_SECOND);
    let end = i + 1;
    while (end < ids.length && (ids[end] as string).startsWith(second)) end++;
    if (end - i > 1) {
      const started = (id: string) => Date.parse(readRecord(runDir(state, id))?.startedAt ?? '') || 0;
      const group = ids.slice(i, end).map((id) => ({ id, t: started(id) }));
      group.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));
      ids.splice(i, end - i, ...group.map((g) => g.id));
    }
    i = end;
  }
  return ids;
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

/** A run folder whose run.json was refused: unreadable JSON, or a field missing or of the wrong type. */
export interface SkippedRun {
  dir: string;
  /** What is wrong, naming the field: `launcher: expected an object, got nothing`. */
  problem: string;
}

/**
 * A run's record as stored (status as written), checked field by field; `missing` while it has none (yet: a launch
 * creating its folder) and `problem` when it cannot be used.
 */
export function loadRecord(dir: string): { record: RunRecord } | { problem: string } | { missing: true } {
  let text: string;
  try {
    text = readFileSync(path.join(dir, RUN_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    return { problem: `cannot read ${RUN_FILE} (${code ?? (error as Error).message})` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `${RUN_FILE} is not JSON (${(error as Error).message})` };
  }
  const checked = checkRecord(value);
  if ('problem' in checked) return { problem: `${RUN_FILE}: ${checked.problem}` };
  if (checked.record.id !== path.basename(dir))
    return { problem: `${RUN_FILE}: id: expected the folder's name ${path.basename(dir)}, got ${checked.record.id}` };
  return checked;
}

/** A run's record as stored (status as written), or undefined when it has none (yet) or it is refused. */
export function readRecord(dir: string): RunRecord | undefined {
  const loaded = loadRecord(dir);
  return 'record' in loaded ? loaded.record : undefined;
}

function infoOf(dir: string, record: RunRecord): RunInfo {
  const status = statusOf(record);
  const started = Date.parse(record.startedAt);
  const ended = record.endedAt ? Date.parse(record.endedAt) : Date.now();
  return { ...record, status, dir, elapsedMs: Math.max(0, ended - started) };
}

/**
 * The full id of the run that `query` names: the id itself, `last` (the newest run), a run name (the newest run of
 * that name) or a unique prefix of an id. Throws `RunNotFoundError`
 * (a usage error) naming the candidates when no run or several match.
 */
export function resolveRunId(query: string, options: StoreOptions = {}): string {
  const ids = runIds(options);
  if (ids.includes(query)) return query;
  if (query === LAST_RUN && ids.length > 0) return ids.at(-1) as string;
  const named = isRunName(query) ? newestNamed(query, ids, storeOf(options)) : undefined;
  if (named) return named;
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
    `No run has the id${isRunName(query) ? ' or name' : ''} ${JSON.stringify(query)} in ${runsDir(storeOf(options))}.${recent.length ? ` Recent runs: ${recent.join(', ')} (see \`ddprun ps --all\`).` : ' The store has no runs.'}`,
    query,
    [],
  );
}

/** The newest run (of `ids`, oldest first) whose record carries `name`. */
function newestNamed(name: string, ids: readonly string[], state: string): string | undefined {
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i] as string;
    if (readRecord(runDir(state, id))?.name === name) return id;
  }
  return undefined;
}

/** A run whose folder exists but whose record cannot be used: it is skipped by listings, refused by commands. */
export class BadRecordError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_BAD_RECORD';
  constructor(
    message: string,
    readonly runId: string,
    readonly problem: string,
  ) {
    super(message);
  }
}

/** A run by id or unique prefix, with its live status; throws `RunNotFoundError` for an unknown or ambiguous id. */
export function getRun(id: string, options: StoreOptions = {}): RunInfo {
  const full = resolveRunId(id, options);
  const dir = runDir(storeOf(options), full);
  const loaded = loadRecord(dir);
  if ('missing' in loaded)
    throw new RunNotFoundError(`The run ${full} has no readable record (${path.join(dir, RUN_FILE)}).`, id, []);
  if ('problem' in loaded)
    throw new BadRecordError(
      `The run ${full} has a record ddprun cannot use (${loaded.problem}); nothing was done. Its folder: ${dir}`,
      full,
      loaded.problem,
    );
  return infoOf(dir, loaded.record);
}

export interface ListRunsOptions extends StoreOptions {
  /** Finished runs too (succeeded, failed, stopped, lost). @default false: running ones only */
  all?: boolean;
  /** Hears each run folder skipped because its record is refused (a half-written one is not reported). */
  onSkip?: (skipped: SkippedRun) => void;
}

/** The runs in the store, newest first: running ones, or with `all` every one. A refused record is skipped. */
export function listRuns(options: ListRunsOptions = {}): RunInfo[] {
  const state = storeOf(options);
  const runs: RunInfo[] = [];
  for (const id of runIds(options)) {
    const dir = runDir(state, id);
    const loaded = loadRecord(dir);
    if ('problem' in loaded) options.onSkip?.({ dir, problem: loaded.problem });
    if (!('record' in loaded)) continue;
    const info = infoOf(dir, loaded.record);
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

export interface ReadRunEventsOptions extends StoreOptions {
  /** Only events with these names (the others are skipped unparsed). @default every event */
  only?: readonly string[];
}

/**
 * Calls `visit` with a run's events in order from byte `from` on, a chunk at a time (memory stays bounded however
 * large events.jsonl is); returns the offset to go on from.
 */
export function scanRunEvents(
  id: string,
  visit: (event: StoredEvent) => void,
  options: ReadRunEventsOptions & { from?: number } = {},
): number {
  const file = path.join(runDir(storeOf(options), resolveRunId(id, options)), EVENTS_FILE);
  return scanEventsFile(file, visit, { from: options.from, only: options.only && new Set(options.only) });
}

/** A run's events in order (every event its launch emitted, `line` excepted), or only the ones named. */
export function readRunEvents(id: string, options: ReadRunEventsOptions = {}): StoredEvent[] {
  const events: StoredEvent[] = [];
  scanRunEvents(id, (event) => events.push(event), options);
  return events;
}

/** The size of a run's events.jsonl now: where a reader of what comes next starts (0 when there is none yet). */
export function runEventsEnd(id: string, options: StoreOptions = {}): number {
  try {
    return statSync(path.join(runDir(storeOf(options), resolveRunId(id, options)), EVENTS_FILE)).size;
  } catch {
    return 0;
  }
}
