import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/** How often a carriage-return progress bar (tqdm) may reach the console, per rank. */
export const PROGRESS_INTERVAL_MS = 1000;

export type LineSink = (text: string) => void;

/**
 * Splits a rank's stream into whole lines. A `\r` rewrites the current line in place (tqdm): only the text after the
 * last `\r` counts, and an unfinished progress line is shown at most once per PROGRESS_INTERVAL_MS, so a progress bar
 * never becomes a flood of lines.
 */
export class LineSplitter {
  private partial = '';
  private lastProgressAt = 0;

  constructor(
    private onLine: LineSink,
    private readonly now: () => number = Date.now,
  ) {}

  push(chunk: string): void {
    let text = this.partial + chunk;
    this.partial = '';
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      let line = text.slice(start, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1); // CRLF
      const cr = line.lastIndexOf('\r');
      this.onLine(cr === -1 ? line : line.slice(cr + 1));
      start = nl + 1;
    }
    text = text.slice(start);
    const cr = text.lastIndexOf('\r');
    if (cr !== -1) {
      // A progress update: keep the newest state; show it now and then.
      const shown = text.slice(0, cr);
      const prev = shown.lastIndexOf('\r');
      const latest = shown.slice(prev + 1);
      const t = this.now();
      if (latest && t - this.lastProgressAt >= PROGRESS_INTERVAL_MS) {
        this.lastProgressAt = t;
        this.onLine(latest);
      }
      text = text.slice(cr); // keep the leading \r: what follows overwrites
    }
    this.partial = text;
  }

  /**
   * The lines `push` would emit, as one string with `prefix` before each and a newline after: the hot path for a
   * rank's stdout when nobody listens per line (one string operation a chunk instead of a call a line).
   */
  pushPrefixed(chunk: string, prefix: string): string {
    if (chunk.includes('\r') || this.partial.includes('\r')) {
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
    const text = this.partial + chunk;
    const last = text.lastIndexOf('\n');
    if (last === -1) {
      this.partial = text;
      return '';
    }
    this.partial = text.slice(last + 1);
    return `${prefix}${text.slice(0, last).replaceAll('\n', `\n${prefix}`)}\n`;
  }

  /** Emits what is left when the stream ends. */
  end(): void {
    const rest = this.partial;
    this.partial = '';
    if (!rest) return;
    const cr = rest.lastIndexOf('\r');
    const line = cr === -1 ? rest : rest.slice(cr + 1);
    if (line) this.onLine(line);
  }
}

/** Opens `logDir/attempt_<k>/<rank>/<stream>.log` for appending, creating the folders. */
export function openLog(file: string): WriteStream {
  mkdirSync(path.dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'a' });
  // A full disk or a vanished folder loses that log, not the launch (an 'error' without a listener would crash it).
  let warned = false;
  stream.on('error', (error) => {
    if (!warned) process.stderr.write(`ddprun: warning: cannot write ${file}: ${error.message}\n`);
    warned = true;
  });
  return stream;
}

/** Keeps the last `maxLines` lines of a stream (the stderr tail for a root cause). */
export class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly maxLines: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
}
