import { closeSync, openSync, readSync } from 'node:fs';
import type { StoredEvent } from './types.js';

// events.jsonl grows for as long as a run lives (a month of resources events is gigabytes): readers go through it
// a chunk at a time and keep only what they ask for, never the whole file as one string (V8 refuses a string past
// 512 MiB, and `show`, `stop` and `stacks` then failed on a long run).

/** How much of the file one read takes. */
export const SCAN_CHUNK_BYTES = 1024 * 1024;
/** A longer line (a damaged file, a hole of zeros) is skipped, never held whole in memory. */
export const MAX_EVENT_LINE_BYTES = 16 * 1024 * 1024;

export interface ScanEventsOptions {
  /** The byte to start at (an offset an earlier scan returned). @default 0 */
  from?: number;
  /** Only these events are parsed; every other line is skipped by its name, unparsed. @default every event */
  only?: ReadonlySet<string>;
  /** @default SCAN_CHUNK_BYTES */
  chunkBytes?: number;
  /** @default MAX_EVENT_LINE_BYTES */
  maxLineBytes?: number;
}

const NL = 0x0a;
const NAME_KEY = Buffer.from('"event":"');
/** The recorder writes `{"v":1,"t":"…","event":"…"` first: the name is found within this many bytes. */
const NAME_WITHIN = 96;

/** The event's name, read from the raw line without parsing it; undefined when it is not near the start. */
function nameOf(line: Buffer): string | undefined {
  const at = line.subarray(0, NAME_WITHIN).indexOf(NAME_KEY);
  if (at < 0) return undefined;
  const start = at + NAME_KEY.length;
  const end = line.indexOf(0x22, start);
  return end < 0 ? undefined : line.toString('latin1', start, end);
}

function parseLine(line: Buffer, only: ReadonlySet<string> | undefined): StoredEvent | undefined {
  if (only) {
    const name = nameOf(line);
    if (name !== undefined && !only.has(name)) return undefined;
  }
  try {
    const event = JSON.parse(line.toString('utf8')) as unknown;
    if (typeof event !== 'object' || event === null || typeof (event as StoredEvent).event !== 'string')
      return undefined;
    return only && !only.has((event as StoredEvent).event) ? undefined : (event as StoredEvent);
  } catch {
    return undefined; // a line cut short by a full disk: skip it, keep the rest
  }
}

/**
 * Calls `visit` with each complete event line of `file` from `from` on, in order, holding at most one chunk and one
 * line in memory. Returns the offset after the last complete line (where a later scan goes on); a missing file is
 * empty. An unfinished last line (being written) is left for the next scan.
 */
export function scanEventsFile(
  file: string,
  visit: (event: StoredEvent) => void,
  options: ScanEventsOptions = {},
): number {
  const from = options.from ?? 0;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return from;
    throw error;
  }
  try {
    return scanFd(fd, visit, options, from);
  } finally {
    closeSync(fd);
  }
}

function scanFd(fd: number, visit: (event: StoredEvent) => void, options: ScanEventsOptions, from: number): number {
  const maxLine = options.maxLineBytes ?? MAX_EVENT_LINE_BYTES;
  const chunk = Buffer.allocUnsafe(options.chunkBytes ?? SCAN_CHUNK_BYTES);
  let carry: Buffer[] = [];
  let carried = 0;
  let skipping = false; // inside a line longer than maxLine: dropped up to its newline
  let position = from;
  let done = from; // after the last newline seen
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    if (n === 0) return done;
    let start = 0;
    for (let nl = chunk.indexOf(NL, 0); nl >= 0 && nl < n; nl = chunk.indexOf(NL, start)) {
      if (!skipping) {
        const piece = chunk.subarray(start, nl);
        const line = carried ? Buffer.concat([...carry, piece]) : piece;
        const event = line.length > 0 ? parseLine(line, options.only) : undefined;
        if (event) visit(event);
      }
      carry = [];
      carried = 0;
      skipping = false;
      start = nl + 1;
      done = position + start;
    }
    if (!skipping && start < n) {
      carried += n - start;
      if (carried > maxLine) {
        skipping = true;
        carry = [];
        carried = 0;
      } else carry.push(Buffer.from(chunk.subarray(start, n)));
    }
    position += n;
  }
}
