import type { Readable, Writable } from 'node:stream';

export type StreamName = 'stdout' | 'stderr';

/** The console streams a launch's output reaches: the library's own `[rankN]:` lines, or the CLI renderer's. */
export interface ConsoleStreams {
  stdout: Writable;
  stderr: Writable;
}

/** How a console stream's reader went away: `SIGPIPE` for a closed pipe, `SIGHUP` for a terminal that hung up. */
export type ReaderGone = (stream: StreamName, as: 'SIGPIPE' | 'SIGHUP') => void;

/**
 * A rank's output source, paused while anything it feeds (console, log file) is full and resumed when all of them
 * can take more: the rank then blocks in its own write, as it would on a slow terminal, and nothing piles up here.
 */
export class Valve {
  private holds = 0;
  constructor(private readonly source: Readable) {}

  hold(): void {
    if (this.holds++ === 0) this.source.pause();
  }

  release(): void {
    if (--this.holds === 0) this.source.resume();
  }

  /** Holds until `target` drains (or fails or closes: a target that is gone never holds a rank forever). */
  holdUntilDrained(target: Writable): void {
    this.hold();
    const done = () => {
      target.off('drain', done).off('error', done).off('close', done);
      this.release();
    };
    target.on('drain', done).on('error', done).on('close', done);
  }
}

/**
 * Watches the console streams for back-pressure (a full stream pauses every rank that writes, until it drains) and
 * for a reader that went away (a closed pipe, a hung-up terminal): from then on nothing more is written to that
 * stream, waiting ranks are released, and `onGone` decides what the launch does.
 */
export class ConsoleOutput {
  private readonly gone = new Set<StreamName>();
  private readonly waiting = new Set<Valve>();
  private readonly disposers: (() => void)[] = [];

  constructor(
    readonly streams: ConsoleStreams,
    private readonly onGone: ReaderGone,
  ) {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = streams[name];
      const onError = (error: NodeJS.ErrnoException) => this.lost(name, error.code === 'EIO' ? 'SIGHUP' : 'SIGPIPE');
      const onDrain = () => this.release();
      stream.on('error', onError).on('drain', onDrain).on('close', onDrain);
      this.disposers.push(() => stream.off('error', onError).off('drain', onDrain).off('close', onDrain));
    }
  }

  /** Writes `text` unless that stream's reader is gone; a full stream holds `valve` until it drains. */
  write(name: StreamName, text: string, valve: Valve): void {
    if (this.gone.has(name)) return;
    this.streams[name].write(text);
    this.throttle(valve);
  }

  /** Holds `valve` while a console stream is full (others, such as the CLI renderer, wrote to it). */
  throttle(valve: Valve): void {
    if (this.waiting.has(valve) || !this.full()) return;
    this.waiting.add(valve);
    valve.hold();
  }

  /** Stops watching (the launch is over). */
  dispose(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
    this.release(true);
  }

  private full(): boolean {
    return this.isFull('stdout') || this.isFull('stderr');
  }

  private isFull(name: StreamName): boolean {
    const stream = this.streams[name];
    return stream.writableNeedDrain && !stream.destroyed && !this.gone.has(name);
  }

  private release(all = false): void {
    if (!all && this.full()) return;
    const valves = [...this.waiting];
    this.waiting.clear();
    for (const valve of valves) valve.release();
  }

  private lost(name: StreamName, as: 'SIGPIPE' | 'SIGHUP'): void {
    if (this.gone.has(name)) return;
    this.gone.add(name);
    this.release();
    this.onGone(name, as);
  }
}

/** Rows a line `width` columns wide takes on a terminal `columns` wide (unknown width: one). */
function rowsOf(width: number, columns: number | undefined): number {
  return columns && columns > 0 ? Math.max(1, Math.ceil(width / columns)) : 1;
}

/**
 * A rank's `\r` progress updates (tqdm) on a terminal: each new state of an unfinished line is drawn over the one
 * before, `[rankN]:` prefix included (cursor back up over the rows it took, `\r`, the prefix and state, erase
 * everything below), so a progress bar stays one updating line. Every write still ends with a newline, so a status
 * line drawn below (log-update) and other ranks' lines are never written into. Anything else written in between ends
 * the update: the next state starts a line of its own.
 */
export class TerminalLines {
  /** The rank stream whose progress state is the last line written, and the rows it took. */
  private open: { key: string; rows: number } | undefined;

  /**
   * The text to write for one line of `key` (e.g. `stdout:3`), prefix included: `progress` marks a state of a line
   * not yet finished; `width` is its width on screen (escapes not counted), for the rows on a terminal `columns` wide.
   */
  line(key: string, text: string, progress: boolean, width = 0, columns?: number): string {
    const over = this.open?.key === key ? `\x1b[${this.open.rows}A\r` : '';
    this.open = progress ? { key, rows: rowsOf(width, columns) } : undefined;
    return over ? `${over}${text}\x1b[J\n` : `${text}\n`;
  }

  /** Something else was written: the next progress state starts on a line of its own. */
  interrupt(): void {
    this.open = undefined;
  }
}
