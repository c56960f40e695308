import { parseBar, stripAnsi, type BarUpdate } from './bar.js';

/** At most this many `progress` events a second per stream (the last state of a burst is sent when the window ends). */
export const PROGRESS_MIN_INTERVAL_MS = 500;
/** An unterminated tail longer than this is not a progress bar: it is dropped instead of kept for the next chunk. */
const MAX_PARTIAL = 4096;
/** Characters at the end of a chunk searched for the newest bar (a bar line is far shorter). */
const BAR_WINDOW = 2 * MAX_PARTIAL;
/** Segments with a `%` tried per chunk, newest first, before giving up on it. */
const MAX_TRIES = 8;
const LOGGING_RESULTS = 'Logging results to ';

export interface ScannerOptions {
  onProgress: (update: BarUpdate) => void;
  /** Called once with the folder named by Ultralytics' `Logging results to <dir>` (trainer mode). */
  onRunFolder?: (dir: string) => void;
  now?: () => number;
  minIntervalMs?: number;
}

/** The last `\n` or `\r` at or before `before`; `\r` only searched for when the text has one. */
function lastTerminator(text: string, hasCR: boolean, before = text.length): number {
  const nl = text.lastIndexOf('\n', before);
  return hasCR ? Math.max(nl, text.lastIndexOf('\r', before)) : nl;
}

function nextTerminator(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  const cr = text.indexOf('\r', from);
  if (nl === -1) return cr === -1 ? text.length : cr;
  return cr === -1 ? nl : Math.min(nl, cr);
}

/**
 * Watches one stream of rank 0 for progress bars, chunk by chunk, without splitting it into lines: a chunk with no
 * `%` costs two forward scans (memchr) and a look at its last line; otherwise only the newest segments holding a `%`
 * near its end are parsed. Updates are throttled.
 */
export class ProgressScanner {
  private partial = '';
  private lastEmitAt = -Infinity;
  private pending: BarUpdate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wantFolder: boolean;
  /** The text of the bar offered last: the same bar seen again (a chunk that only ends its line) is not news. */
  private lastBar = '';
  private readonly now: () => number;
  private readonly minIntervalMs: number;

  constructor(private readonly options: ScannerOptions) {
    this.wantFolder = options.onRunFolder !== undefined;
    this.now = options.now ?? Date.now;
    this.minIntervalMs = options.minIntervalMs ?? PROGRESS_MIN_INTERVAL_MS;
  }

  push(chunk: string): void {
    const prev = this.partial;
    // Only forward searches touch the whole chunk (V8 runs them as memchr); backward ones stay within a window.
    const hasPct = chunk.includes('%') || prev.includes('%');
    const hasCR = chunk.includes('\r');
    if (this.wantFolder && this.mayNameFolder(prev, chunk)) this.findFolder(prev + chunk);
    const window = chunk.length > MAX_PARTIAL + 1 ? chunk.slice(-(MAX_PARTIAL + 1)) : chunk;
    const end = lastTerminator(window, hasCR);
    if (end !== -1) this.partial = window.slice(end + 1);
    else this.partial = chunk.length === window.length && prev.length + chunk.length <= MAX_PARTIAL ? prev + chunk : '';
    if (!hasPct) return;
    // The newest bar is near the end: look at the last BAR_WINDOW characters only.
    const text = chunk.length >= BAR_WINDOW ? chunk.slice(-BAR_WINDOW) : (prev + chunk).slice(-BAR_WINDOW);
    const cr = hasCR || prev.includes('\r');
    let pct = text.lastIndexOf('%');
    for (let tries = 0; pct !== -1 && tries < MAX_TRIES; tries++) {
      const start = lastTerminator(text, cr, pct) + 1;
      const segment = text.slice(start, nextTerminator(text, pct));
      const update = parseBar(segment);
      if (update) {
        if (segment !== this.lastBar) this.offer(update);
        this.lastBar = segment;
        return;
      }
      if (start === 0) return;
      pct = text.lastIndexOf('%', start - 1);
    }
  }

  private mayNameFolder(prev: string, chunk: string): boolean {
    if (chunk.includes(LOGGING_RESULTS) || prev.includes(LOGGING_RESULTS)) return true;
    // Cut between two chunks.
    const n = LOGGING_RESULTS.length;
    return prev !== '' && (prev.slice(-n) + chunk.slice(0, n)).includes(LOGGING_RESULTS);
  }

  /** Sends the newest state still held back by the throttle (the stream ended). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const update = this.pending;
    this.pending = undefined;
    if (update) this.emit(update);
  }

  private findFolder(text: string): void {
    const at = text.indexOf(LOGGING_RESULTS);
    if (at === -1) return;
    const from = at + LOGGING_RESULTS.length;
    const end = nextTerminator(text, from);
    if (end === text.length) return; // the line is not finished yet: it stays in `partial`
    const dir = stripAnsi(text.slice(from, end)).trim();
    if (!dir) return;
    this.wantFolder = false;
    this.options.onRunFolder?.(dir);
  }

  private offer(update: BarUpdate): void {
    const wait = this.lastEmitAt + this.minIntervalMs - this.now();
    if (wait <= 0 && !this.timer) {
      this.emit(update);
      return;
    }
    this.pending = update;
    if (!this.timer) this.arm(wait);
  }

  private arm(waitMs: number): void {
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        // libuv starts a timer from the loop's cached time, so it may fire a little early: wait out the rest.
        const rest = this.lastEmitAt + this.minIntervalMs - this.now();
        if (rest > 0) return this.arm(rest);
        const next = this.pending;
        this.pending = undefined;
        if (next) this.emit(next);
      },
      Math.max(0, waitMs),
    );
    this.timer.unref();
  }

  private emit(update: BarUpdate): void {
    this.lastEmitAt = this.now();
    this.options.onProgress(update);
  }
}
