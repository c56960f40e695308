import { RankLogFollower, type RankLogRef } from '../store/rank-logs.js';
import type { Push } from './push.js';
import {
  MAX_EVENTS,
  NL,
  PARTIAL_FLUSH,
  READ_MAX,
  lastLinesStart,
  listRunSummaries,
  newestEvents,
  readBytes,
  sizeOf,
  splitLines,
  type RunFiles,
  type RunRecord,
  type RunSummary,
  type StoreEvent,
} from './store-view.js';

/**
 * What a live view of the store sends, read once for all its clients: `tick` pushes what changed since the last tick
 * (to the clients already there), `snapshot` the state so far (to a client that just came, before its first news).
 */
export interface FeedSource {
  tick(push: Push): Promise<void>;
  snapshot(push: Push): Promise<void>;
}

/** `/api/stream`: the list of runs, pushed whenever it changes. */
export class RunsFeed implements FeedSource {
  private runs: RunSummary[] | undefined;
  private text = '';
  constructor(private readonly files: RunFiles) {}

  async tick(push: Push): Promise<void> {
    const runs = await listRunSummaries(this.files);
    const text = JSON.stringify(runs);
    if (text !== this.text) push('runs', runs);
    this.runs = runs;
    this.text = text;
  }

  snapshot(push: Push): Promise<void> {
    if (this.runs) push('runs', this.runs);
    return Promise.resolve();
  }
}

interface FollowedLog {
  ref: RankLogRef;
  /** The unfinished last line read so far (sent once it ends, or once it is PARTIAL_FLUSH long). */
  partial: Buffer;
}

const whereOf = (ref: RankLogRef) => ({ attempt: ref.attempt, rank: ref.rank, stream: ref.stream });

/**
 * `/api/runs/<id>/stream`: one run's news (state, events, new log lines). A log is followed into its tail segments once
 * it passes the store's cap, so the newest output shows however much a rank writes.
 */
export class RunFeed implements FeedSource {
  private run: RunRecord | null = null;
  private runText = '';
  private eventsAt = 0;
  /** The newest events (at least `newestEvents`' and up to 4 × MAX_EVENTS), for a client that comes later. */
  private events: StoreEvent[] = [];
  private readonly follower = new RankLogFollower();
  private readonly logs = new Map<string, FollowedLog>();

  constructor(
    private readonly files: RunFiles,
    private readonly id: string,
  ) {}

  async tick(push: Push): Promise<void> {
    const run = this.files.record(this.id) ?? null;
    const text = JSON.stringify(run);
    if (text !== this.runText) push('run', run);
    this.run = run;
    this.runText = text;
    const { events, next } = await this.files.events(this.id, this.eventsAt);
    this.eventsAt = next;
    if (events.length) {
      push('events', events);
      this.events = this.events.concat(events);
      if (this.events.length > 4 * MAX_EVENTS) this.events = newestEvents(this.events);
    }
    for (const ref of this.files.logs(this.id)) await this.tickLog(ref, push);
  }

  private async tickLog(ref: RankLogRef, push: Push): Promise<void> {
    const key = `${ref.attempt}/${ref.rank}/${ref.stream}`;
    let log = this.logs.get(key);
    if (!log) {
      // First sight: start at the head's newest window, on a line boundary; older lines come on request.
      const head = ref.files[0]!;
      const at = await lastLinesStart(head, await sizeOf(head));
      this.follower.startAt(head, at);
      log = { ref, partial: Buffer.alloc(0) };
      this.logs.set(key, log);
      push('log-start', { ...whereOf(ref), start: at });
    }
    log.ref = ref;
    const bytes = this.follower.read(ref, READ_MAX);
    if (!bytes.length) return;
    const all = log.partial.length ? Buffer.concat([log.partial, bytes]) : bytes;
    // Only whole lines are decoded (a newline byte never sits inside a UTF-8 character).
    const end = all.lastIndexOf(NL) + 1;
    const lines = splitLines(all.subarray(0, end).toString('utf8'));
    let partial = Buffer.from(all.subarray(end)); // a copy: the read's buffer is not kept for it
    // A line that never ends is shown once it is large; the rest follows as its continuation.
    if (partial.length > PARTIAL_FLUSH) {
      lines.push(partial.toString('utf8'));
      partial = Buffer.alloc(0);
    }
    log.partial = partial;
    if (lines.length) push('log', { ...whereOf(ref), lines });
  }

  async snapshot(push: Push): Promise<void> {
    push('run', this.run);
    if (this.events.length) push('events', newestEvents(this.events));
    for (const log of this.logs.values()) await this.logSnapshot(log, push);
  }

  /** A log's newest LOG_LINES lines up to where the feed has read it (its next news goes on from there). */
  private async logSnapshot(log: FollowedLog, push: Push): Promise<void> {
    const { files } = log.ref;
    let i = files.length - 1;
    while (i > 0 && this.follower.offsetOf(files[i]!) === undefined) i--;
    const file = files[i]!;
    const end = Math.max(0, (this.follower.offsetOf(file) ?? 0) - log.partial.length);
    const from = await lastLinesStart(file, end);
    // Older lines are paged from the head: past the store's cap (a tail segment in view), from the head's end.
    const start = i === 0 ? from : await sizeOf(files[0]!);
    push('log-start', { ...whereOf(log.ref), start });
    const lines = splitLines((await readBytes(file, from, end)).toString('utf8'));
    if (lines.length) push('log', { ...whereOf(log.ref), lines });
  }
}
