import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Appender } from './appender.js';

/** The store's default cap per rank, stream and attempt: room for a real training log. */
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;

/** `stdout.log` → `stdout.tail.3.log`: where the most recent output goes once the head is full. */
export function tailSegmentFile(file: string, index: number): string {
  return file.replace(/\.log$/, `.tail.${index}.log`);
}

/** The marker written at the end of a full head, for a person reading the file and for `ddprun logs`. */
export function truncationMarker(file: string, maxBytes: number): string {
  const mib = (n: number) => `${Math.round((n / 1024 / 1024) * 100) / 100} MiB`;
  const name = path.basename(file);
  return (
    `\n[ddprun: ${name} passed the store's cap of ${mib(maxBytes)}: the first ${mib(maxBytes / 2)} are above; ` +
    `the most recent output (${mib(maxBytes / 4)} to ${mib(maxBytes / 2)}) follows in ${tailSegmentFile(name, 0).replace('.0.', '.N.')}; ` +
    `what lies between was dropped]\n`
  );
}

/**
 * One rank stream's log with a cap: the first half of `maxBytes` goes to `file` byte for byte, then a marker; after
 * that the output rotates through tail segments of a quarter each, the two newest kept, so the file keeps the head
 * and the most recent part of a run that writes without end.
 */
export class CappedLog {
  private headLeft: number;
  private segment = -1;
  private segmentBytes = 0;
  private current: Appender;
  private previous: Appender | undefined;
  private readonly closing: Promise<void>[] = [];

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly onError: (error: Error, file: string) => void,
  ) {
    this.headLeft = Math.floor(maxBytes / 2);
    this.current = new Appender(file, onError);
  }

  write(chunk: string | Buffer): void {
    if (this.headLeft > 0) {
      const bytes = Buffer.byteLength(chunk);
      if (bytes <= this.headLeft) {
        this.current.write(chunk);
        this.headLeft -= bytes;
        return;
      }
      // The head fills up inside this chunk: split it at the byte.
      const buffer = Buffer.from(chunk);
      this.current.write(buffer.subarray(0, this.headLeft));
      this.current.write(truncationMarker(this.file, this.maxBytes));
      const rest = buffer.subarray(this.headLeft);
      this.headLeft = 0;
      this.rotate();
      this.writeTail(rest, rest.length);
      return;
    }
    this.writeTail(chunk, Buffer.byteLength(chunk));
  }

  private writeTail(data: string | Buffer, bytes: number): void {
    const segmentMax = Math.max(1, Math.floor(this.maxBytes / 4));
    if (this.segmentBytes + bytes <= segmentMax) {
      this.current.write(data);
      this.segmentBytes += bytes;
      return;
    }
    // Only the last two segments' worth of a big chunk can be kept; the rest is filled in segment by segment.
    let buffer = typeof data === 'string' ? Buffer.from(data) : data;
    if (buffer.length > 2 * segmentMax) buffer = buffer.subarray(buffer.length - 2 * segmentMax);
    while (buffer.length > 0) {
      if (this.segmentBytes >= segmentMax) this.rotate();
      const room = segmentMax - this.segmentBytes;
      this.current.write(buffer.subarray(0, room));
      this.segmentBytes += Math.min(room, buffer.length);
      buffer = buffer.subarray(room);
    }
  }

  /** Closes the current file and starts the next tail segment, dropping the one before the previous. */
  private rotate(): void {
    const older = this.previous;
    // Removed once closed: a stream not yet open would otherwise create the file again after the removal.
    if (older) this.closing.push(older.end().then(() => rm(older.file, { force: true }).catch(() => undefined)));
    this.closing.push(this.current.end());
    // The head file is never dropped; only tail segments rotate away.
    this.previous = this.segment >= 0 ? this.current : undefined;
    this.segment += 1;
    this.segmentBytes = 0;
    this.current = new Appender(tailSegmentFile(this.file, this.segment), this.onError);
  }

  /** Flushes and closes every file. */
  async end(): Promise<void> {
    await Promise.all([...this.closing, this.current.end()]);
  }
}
