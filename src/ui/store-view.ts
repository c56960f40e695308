import { lstatSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { scanEventsFile } from '../store/event-scan.js';
import { readRecord, runIds, statusOf } from '../store/read.js';
import { EVENTS_FILE, runDir, stateDir } from '../store/paths.js';
import { listRankLogs, type RankLogRef } from '../store/rank-logs.js';
import { isRunId } from '../store/run-id.js';
import { stopRun } from '../store/stop.js';
import type { RunInfo, StoredEvent } from '../store/types.js';

/** Lines of a log sent at first, and per "older" request. */
export const LOG_LINES = 10_000;
/** Characters of one line sent to the page (a rank can print megabytes without a newline). */
export const MAX_LINE_CHARS = 10_000;
/** A line that never ends is sent once it is this large; the rest follows as its continuation. */
export const PARTIAL_FLUSH = 1024 * 1024;
/** Events sent with a run's detail (the newest; resources come once a second for hours). */
export const MAX_EVENTS = 20_000;

/** Events written periodically for as long as a run runs: kept apart, so that they never push out the others. */
const SAMPLED = new Set(['resources', 'progress']);

/**
 * The newest MAX_EVENTS of the sampled events (resources once a second, progress twice) and the newest MAX_EVENTS
 * of the others (a run's metrics, epochs, starts and restarts: bounded by the recorder), in their order: a 10-hour
 * run's first metric values stay on its charts.
 */
export function newestEvents(events: readonly StoreEvent[]): StoreEvent[] {
  let sampled = 0;
  for (const e of events) if (SAMPLED.has(e.event)) sampled++;
  const other = events.length - sampled;
  if (sampled <= MAX_EVENTS && other <= MAX_EVENTS) return events.slice();
  let skipSampled = Math.max(0, sampled - MAX_EVENTS);
  let skipOther = Math.max(0, other - MAX_EVENTS);
  return events.filter((e) => {
    if (SAMPLED.has(e.event)) return skipSampled-- <= 0;
    return skipOther-- <= 0;
  });
}

/** The end of events.jsonl read for a run's latest epoch/progress in the runs list. */
const SUMMARY_TAIL = 64 * 1024;

export type RunRecord = Omit<RunInfo, 'dir'>;
export type StoreEvent = StoredEvent;

export class RunFiles {
  readonly state: string;
  constructor(state?: string) {
    this.state = state ?? stateDir();
  }

  /** The id when it names a run folder of the store (a real folder, not a link), else undefined. */
  idOf(raw: string): string | undefined {
    // Only a store's run id reaches the file system (never `..`, a slash or a NUL).
    if (!isRunId(raw)) return undefined;
    try {
      return lstatSync(runDir(this.state, raw)).isDirectory() ? raw : undefined;
    } catch {
      return undefined;
    }
  }

  file(id: string, ...parts: string[]): string {
    return path.join(runDir(this.state, id), ...parts);
  }

  /** Newest first. */
  ids(): string[] {
    return runIds({ stateDir: this.state }).reverse();
  }

  /** The record with its live status (`lost` for a dead launcher); undefined while half-written, deleted or corrupt. */
  record(id: string): RunRecord | undefined {
    const record = readRecord(this.file(id));
    if (!record) return undefined;
    const started = Date.parse(record.startedAt);
    const ended = record.endedAt ? Date.parse(record.endedAt) : Date.now();
    return { ...record, status: statusOf(record), elapsedMs: Math.max(0, ended - started) };
  }

  /**
   * The newest events (see `newestEvents`) of the complete lines of events.jsonl from byte `from`, and the offset after the
   * last one. Read a chunk at a time (a line too long to hold is skipped), never the file as one string.
   */
  events(id: string, from = 0): Promise<{ events: StoreEvent[]; next: number }> {
    return Promise.resolve().then(() => {
      let events: StoreEvent[] = [];
      const next = scanEventsFile(
        this.file(id, EVENTS_FILE),
        (event) => {
          if (events.push(event) >= 4 * MAX_EVENTS) events = newestEvents(events);
        },
        { from },
      );
      return { events: newestEvents(events), next };
    });
  }

  /** The rank streams of a run: `logs/attempt_<k>/<rank>/<stream>.log`, then its tail segments past the cap. */
  logs(id: string): RankLogRef[] {
    return listRankLogs(runDir(this.state, id));
  }

  /** Up to LOG_LINES lines of one log before byte `before` (older lines, fetched on request). */
  async logBefore(id: string, q: URLSearchParams): Promise<{ lines: string[]; start: number }> {
    const attempt = Number(q.get('attempt'));
    const rank = Number(q.get('rank'));
    const stream = q.get('stream');
    const before = Number(q.get('before'));
    // Older lines are the head's (`stdout.log`): the page starts at its newest window and goes back from there.
    const head = this.logs(id).find((f) => f.attempt === attempt && f.rank === rank && f.stream === stream)?.files[0];
    if (!head || !Number.isSafeInteger(before) || before <= 0) return { lines: [], start: 0 };
    const from = await lastLinesStart(head, before);
    return { lines: splitLines((await readBytes(head, from, before)).toString('utf8')), start: from };
  }
}

/** Lines of a text, each cut to MAX_LINE_CHARS with a marker saying how much was left out. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) =>
    l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS)} … [${l.length - MAX_LINE_CHARS} more characters]` : l,
  );
}

/** Where the last LOG_LINES lines before byte `end` begin (looking back at most READ_MAX bytes). */
export async function lastLinesStart(file: string, end: number): Promise<number> {
  const from = Math.max(0, end - READ_MAX);
  const bytes = await readBytes(file, from, end);
  let at = bytes.length;
  if (bytes[at - 1] === NL) at--; // the newline that ends the last line
  for (let n = 0; n < LOG_LINES; n++) {
    const nl = bytes.lastIndexOf(NL, at - 1);
    if (nl < 0) return from === 0 ? 0 : from + bytes.indexOf(NL) + 1;
    at = nl;
  }
  return from + at + 1;
}

export const NL = 0x0a;
/** The most bytes one read returns (a caller reading a growing file just asks again). */
export const READ_MAX = 8 * 1024 * 1024;

/** A file's size; 0 when it is missing (a stream whose head is not written yet). */
export function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/** Bytes [from, to) of a file; a missing file reads as empty. */
export async function readBytes(file: string, from: number, to?: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = (await handle.stat()).size;
    const end = Math.min(to ?? size, size, from + READ_MAX);
    if (end <= from) return Buffer.alloc(0);
    const buf = Buffer.alloc(end - from);
    const { bytesRead } = await handle.read(buf, 0, buf.length, from);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface RunSummary {
  id: string;
  status: string;
  run: RunRecord;
  epoch?: StoreEvent;
  progress?: StoreEvent;
}

/** Every run, newest first, with its latest epoch and progress. */
export async function listRunSummaries(files: RunFiles): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for (const id of files.ids()) {
    const run = files.record(id);
    if (!run) continue;
    const size = await sizeOf(files.file(id, EVENTS_FILE));
    const { events } = await files.events(id, Math.max(0, size - SUMMARY_TAIL)).catch(() => ({ events: [] }));
    const summary: RunSummary = { id, status: run.status, run };
    for (const e of events) {
      if (e.event === 'epoch') summary.epoch = e;
      if (e.event === 'progress') summary.progress = e;
    }
    out.push(summary);
  }
  return out;
}

/** A run's record and its events (see `newestEvents`). */
export async function readRunDetail(
  files: RunFiles,
  id: string,
): Promise<{ run: RunRecord; events: StoreEvent[] } | undefined> {
  const run = files.record(id);
  if (!run) return undefined;
  const { events } = await files.events(id);
  return { run, events };
}

export async function stopRecordedRun(files: RunFiles, id: string): Promise<{ ok: boolean; message: string }> {
  try {
    // Returns once the run has ended; the page sees the new status through its stream.
    const run = await stopRun(id, { stateDir: files.state });
    return { ok: true, message: `stopped (${run.status})` };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
