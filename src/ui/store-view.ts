import { lstatSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Push } from './push.js';
import { scanEventsFile } from '../store/event-scan.js';
import { readRecord, runIds, statusOf } from '../store/read.js';
import { EVENTS_FILE, runDir, stateDir } from '../store/paths.js';
import { RankLogFollower, listRankLogs, type RankLogRef } from '../store/rank-logs.js';
import { isRunId } from '../store/run-id.js';
import { stopRun } from '../store/stop.js';
import type { RunInfo, StoredEvent } from '../store/types.js';

/** Lines of a log sent at first, and per "older" request. */
export const LOG_LINES = 10_000;
/** Characters of one line sent to the page (a rank can print megabytes without a newline). */
export const MAX_LINE_CHARS = 10_000;
/** A line that never ends is sent once it is this large; the rest follows as its continuation. */
const PARTIAL_FLUSH = 1024 * 1024;
/** Events sent with a run's detail (the newest; resources come once a second for hours). */
const MAX_EVENTS = 20_000;
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
   * The newest MAX_EVENTS events of the complete lines of events.jsonl from byte `from`, and the offset after the
   * last one. Read a chunk at a time (a line too long to hold is skipped), never the file as one string.
   */
  events(id: string, from = 0): Promise<{ events: StoreEvent[]; next: number }> {
    return Promise.resolve().then(() => {
      let events: StoreEvent[] = [];
      const next = scanEventsFile(
        this.file(id, EVENTS_FILE),
        (event) => {
          if (events.push(event) >= 2 * MAX_EVENTS) events = events.slice(-MAX_EVENTS);
        },
        { from },
      );
      return { events: events.slice(-MAX_EVENTS), next };
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

  /**
   * A live view of one run: each tick pushes what changed since the last one. A log is followed into its tail
   * segments once it passes the store's cap, so the newest output shows however much a rank writes.
   */
  follow(id: string): { tick: (push: Push) => Promise<void> } {
    let runText = '';
    let eventsAt = 0;
    const follower = new RankLogFollower();
    const partials = new Map<string, Buffer>();
    return {
      tick: async (push) => {
        const run = this.record(id);
        const text = JSON.stringify(run ?? null);
        if (text !== runText) push('run', run ?? null);
        runText = text;
        const { events, next } = await this.events(id, eventsAt);
        eventsAt = next;
        if (events.length) push('events', events.slice(-MAX_EVENTS));
        for (const log of this.logs(id)) {
          const where = { attempt: log.attempt, rank: log.rank, stream: log.stream };
          const key = `${log.attempt}/${log.rank}/${log.stream}`;
          if (!partials.has(key)) {
            // First sight: start at the head's newest window, on a line boundary; older lines come on request.
            const head = log.files[0]!;
            const at = await lastLinesStart(head, await sizeOf(head));
            follower.startAt(head, at);
            partials.set(key, Buffer.alloc(0));
            push('log-start', { ...where, start: at });
          }
          const bytes = follower.read(log, READ_MAX);
          if (!bytes.length) continue;
          const all = Buffer.concat([partials.get(key)!, bytes]);
          // Only whole lines are decoded (a newline byte never sits inside a UTF-8 character).
          const end = all.lastIndexOf(NL) + 1;
          const lines = splitLines(all.subarray(0, end).toString('utf8'));
          let partial = all.subarray(end);
          // A line that never ends is shown once it is large; the rest follows as its continuation.
          if (partial.length > PARTIAL_FLUSH) {
            lines.push(partial.toString('utf8'));
            partial = Buffer.alloc(0);
          }
          partials.set(key, partial);
          if (lines.length) push('log', { ...where, lines });
        }
      },
    };
  }
}

/** Lines of a text, each cut to MAX_LINE_CHARS with a marker saying how much was left out. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) =>
    l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS)} … [${l.length - MAX_LINE_CHARS} more characters]` : l,
  );
}

/** Where the last LOG_LINES lines before byte `end` begin (looking back at most READ_MAX bytes). */
async function lastLinesStart(file: string, end: number): Promise<number> {
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

const NL = 0x0a;
/** The most bytes one read returns (a caller reading a growing file just asks again). */
const READ_MAX = 8 * 1024 * 1024;

/** A file's size; 0 when it is missing (a stream whose head is not written yet). */
function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/** Bytes [from, to) of a file; a missing file reads as empty. */
async function readBytes(file: string, from: number, to?: number): Promise<Buffer> {
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

/** A run's record and its events (the newest MAX_EVENTS). */
export async function readRunDetail(
  files: RunFiles,
  id: string,
): Promise<{ run: RunRecord; events: StoreEvent[] } | undefined> {
  const run = files.record(id);
  if (!run) return undefined;
  const { events } = await files.events(id);
  return { run, events: events.slice(-MAX_EVENTS) };
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
