/** How often a carriage-return progress bar (tqdm) may reach the console, per rank. */
export const PROGRESS_INTERVAL_MS = 1000;

/** The longest line passed on whole (1 MiB of characters); a longer one is split into pieces this long. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** Ends each piece of a split line but the last (the log files keep the line whole). */
export const LINE_SPLIT_MARKER = ' [ddprun: line longer than 1 MiB, continued on the next line]';

/** `progress`: the text is a `\r` state of a line not yet finished. */
export type LineSink = (text: string, progress?: true) => void;

/**
 * Splits a rank's stream into whole lines. A `\r` rewrites the current line in place (tqdm): only the text after the
 * last `\r` counts, and an unfinished progress line is shown at most once per PROGRESS_INTERVAL_MS, so a progress bar
 * never becomes a flood of lines. Each chunk is scanned once (linear in the bytes, however long a line grows); a `\r`
 * that ends a chunk waits for the next one to tell a CRLF from a rewrite; a line over MAX_LINE_CHARS is split.
 */
export class LineSplitter {
  /** The current line's text since its last `\r`, in pieces: appending never copies what came before. */
  private pieces: string[] = [];
  private length = 0;
  /** The last chunk ended with `\r`: a CRLF when the next one starts with `\n`, else a rewrite. */
  private pendingCR = false;
  /** The current line's last text completed by a `\r` (a progress state), and whether it was shown. */
  private lastState: string[] | undefined;
  private lastStateShown = false;
  private lastProgressAt = 0;

  constructor(
    private onLine: LineSink,
    private readonly now: () => number = Date.now,
  ) {}

  push(chunk: string): void {
    let pos = this.settleCR(chunk);
    let rewrote = false;
    let nl = chunk.indexOf('\n', pos);
    let cr = chunk.indexOf('\r', pos);
    while (nl !== -1 || cr !== -1) {
      if (nl !== -1 && (cr === -1 || nl < cr)) {
        this.append(chunk, pos, nl);
        this.endLine();
        rewrote = false;
        pos = nl + 1;
        nl = chunk.indexOf('\n', pos);
        continue;
      }
      this.append(chunk, pos, cr);
      pos = cr + 1;
      if (pos === chunk.length) this.pendingCR = true;
      else if (nl === pos) {
        this.endLine(); // CRLF
        rewrote = false;
        nl = chunk.indexOf('\n', ++pos);
      } else {
        this.rewrite();
        rewrote = true;
      }
      cr = chunk.indexOf('\r', pos);
    }
    this.append(chunk, pos, chunk.length);
    if (rewrote) this.showProgress();
  }

  /**
   * The lines `push` would emit, as one string with `prefix` before each and a newline after: the hot path for a
   * rank's stdout when nobody listens per line (one string operation a chunk instead of a call a line).
   */
  pushPrefixed(chunk: string, prefix: string): string {
    if (this.pendingCR || this.lastState || this.length + chunk.length > MAX_LINE_CHARS || chunk.includes('\r')) {
      const saved = this.onLine;
      const out: string[] = [];
      this.onLine = (line) => out.push(`${prefix}${line}\n`);
      try {
        this.push(chunk);
      } finally {
        this.onLine = saved;
      }
      return out.join('');
    }
    const last = chunk.lastIndexOf('\n');
    if (last === -1) {
      this.append(chunk, 0, chunk.length);
      return '';
    }
    const head = this.take();
    this.append(chunk, last + 1, chunk.length);
    return `${prefix}${head}${chunk.slice(0, last).replaceAll('\n', `\n${prefix}`)}\n`;
  }

  /** Emits what is left when the stream ends. */
  end(): void {
    if (this.pendingCR) {
      this.pendingCR = false;
      this.rewrite();
    }
    const line = this.take();
    const state = this.lastState && !this.lastStateShown ? this.lastState.join('') : '';
    this.lastState = undefined;
    if (line || state) this.onLine(line || state);
  }

  /** Resolves a `\r` left at the end of the previous chunk; returns where this chunk's own text starts. */
  private settleCR(chunk: string): number {
    if (!this.pendingCR || chunk.length === 0) return 0;
    this.pendingCR = false;
    if (chunk.charCodeAt(0) === 10) {
      this.endLine();
      return 1;
    }
    this.rewrite();
    return 0;
  }

  private append(chunk: string, from: number, to: number): void {
    if (to <= from) return;
    this.pieces.push(from === 0 && to === chunk.length ? chunk : chunk.slice(from, to));
    this.length += to - from;
    if (this.length > MAX_LINE_CHARS) this.splitLong();
  }

  /** Emits a line over the limit in pieces of MAX_LINE_CHARS (never between the halves of a surrogate pair). */
  private splitLong(): void {
    let text = this.pieces.join('');
    while (text.length > MAX_LINE_CHARS) {
      const high = text.charCodeAt(MAX_LINE_CHARS - 1);
      const cut = high >= 0xd800 && high <= 0xdbff ? MAX_LINE_CHARS - 1 : MAX_LINE_CHARS;
      this.onLine(`${text.slice(0, cut)}${LINE_SPLIT_MARKER}`);
      text = text.slice(cut);
    }
    this.pieces = [text];
    this.length = text.length;
  }

  private take(): string {
    const text = this.pieces.length === 1 ? (this.pieces[0] as string) : this.pieces.join('');
    this.pieces = [];
    this.length = 0;
    return text;
  }

  private endLine(): void {
    this.lastState = undefined;
    this.onLine(this.take());
  }

  /** A `\r` inside a line: what came before it is a finished progress state, overwritten by what follows. */
  private rewrite(): void {
    this.lastState = this.pieces;
    this.lastStateShown = false;
    this.pieces = [];
    this.length = 0;
  }

  private showProgress(): void {
    const state = this.lastState;
    if (!state || state.length === 0) return;
    const t = this.now();
    if (t - this.lastProgressAt < PROGRESS_INTERVAL_MS) return;
    this.lastProgressAt = t;
    this.lastStateShown = true;
    this.onLine(state.join(''), true);
  }
}
