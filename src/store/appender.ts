import { createWriteStream, type WriteStream } from 'node:fs';
import { FILE_MODE } from './paths.js';

/** Bytes a file may have waiting for the disk before new data is dropped (and the gap marked). */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Appends to a file without ever blocking or throwing: writes are queued (a slow disk drops data past
 * MAX_PENDING_BYTES, marking the gap, instead of growing memory), and an error is reported once, after which the
 * file takes nothing more.
 */
export class Appender {
  private readonly stream: WriteStream;
  private failed = false;
  private dropped = 0;
  private readonly closed: Promise<void>;

  constructor(
    readonly file: string,
    private readonly onError: (error: Error, file: string) => void,
  ) {
    this.stream = createWriteStream(file, { flags: 'a', mode: FILE_MODE });
    this.closed = new Promise<void>((resolve) => {
      this.stream.once('close', resolve);
    });
    this.stream.on('error', (error) => {
      if (this.failed) return;
      this.failed = true;
      this.onError(error, file);
    });
  }

  write(data: string | Buffer): void {
    if (this.failed) return;
    if (this.stream.writableLength > MAX_PENDING_BYTES) {
      this.dropped += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      return;
    }
    if (this.dropped) {
      this.stream.write(`\n[ddprun: ${this.dropped} bytes not recorded here: the disk did not keep up]\n`);
      this.dropped = 0;
    }
    this.stream.write(data);
  }

  /** Flushes and closes; resolves when the file is closed (or failed). Safe to call twice. */
  end(): Promise<void> {
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    return this.closed;
  }
}
