import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { FILE_MODE } from './paths.js';

/** Bytes a file may have waiting for the disk before new data is dropped (and the gap marked). */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** How long output may wait in memory before it is written (what `logs -f` lags by, at most). */
export const FLUSH_INTERVAL_MS = 100;
const BATCH_BYTES = 256 * 1024;

/**
 * A new file, never an existing name or a symbolic link (O_EXCL | O_NOFOLLOW), written through the descriptor it was
 * created with: nothing planted in a run folder can redirect the record into another file.
 */
export const NEW_FILE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_APPEND;

/**
 * Appends to a new file (created here: see NEW_FILE_FLAGS) without ever blocking or throwing: writes are queued (a slow disk drops data past
 * MAX_PENDING_BYTES, marking the gap, instead of growing memory), and an error is reported once, after which the
 * file takes nothing more.
 */
export class Appender {
  private readonly stream: WriteStream;
  private failed = false;
  private dropped = 0;
  /**
   * What waits for the next flush, copied in as it comes: a chunk read from a rank's pipe then dies young, where
   * holding it until the flush kept it (and its memory outside the V8 heap) until a full garbage collection.
   */
  private batch: Buffer | undefined;
  private batchBytes = 0;
  private capacity = 4096;
  private spare: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly closed: Promise<void>;

  constructor(
    readonly file: string,
    private readonly onError: (error: Error, file: string) => void,
  ) {
    // The stream hands `flags` to fs.open, which takes fs.constants (its typings only name the string forms).
    this.stream = createWriteStream(file, { flags: NEW_FILE_FLAGS as unknown as string, mode: FILE_MODE });
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
    if (this.stream.writableLength + this.batchBytes > MAX_PENDING_BYTES) {
      this.dropped += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      return;
    }
    if (this.dropped) {
      this.append(`\n[ddprun: ${this.dropped} bytes not recorded here: the disk did not keep up]\n`);
      this.dropped = 0;
    }
    // Chunks are gathered and handed to the stream every FLUSH_INTERVAL_MS (or once BATCH_BYTES wait): a rank
    // printing line by line costs a copy per line here, not a stream write (measured: 1 µs vs 5 µs a chunk).
    this.append(data);
    if (this.batchBytes >= BATCH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  private append(data: string | Buffer): void {
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.batchBytes + bytes > BATCH_BYTES) this.flush();
    if (bytes >= BATCH_BYTES) {
      this.send(typeof data === 'string' ? Buffer.from(data) : data); // a big chunk goes as it is
      return;
    }
    const batch = this.reserve(this.batchBytes + bytes);
    if (typeof data === 'string') batch.write(data, this.batchBytes);
    else data.copy(batch, this.batchBytes);
    this.batchBytes += bytes;
  }

  /**
   * Room for `bytes` in the batch: it starts as big as the last one grew (a quiet stream keeps a small one), in the
   * buffer the last write returned when there is one (a buffer a second is no garbage left for the next full GC).
   */
  private reserve(bytes: number): Buffer {
    if (this.batch && this.batch.length >= bytes) return this.batch;
    while (this.capacity < bytes) this.capacity *= 2;
    const size = Math.min(this.capacity, BATCH_BYTES);
    const spare = this.spare && this.spare.length >= size ? this.spare : undefined;
    this.spare = undefined;
    const grown = spare ?? Buffer.allocUnsafeSlow(size);
    this.batch?.copy(grown, 0, 0, this.batchBytes);
    this.batch = grown;
    return grown;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch;
    const bytes = this.batchBytes;
    this.batch = undefined;
    this.batchBytes = 0;
    if (batch && bytes > 0) this.send(batch.subarray(0, bytes), () => (this.spare = batch));
  }

  private send(data: Buffer, written?: () => void): void {
    if (this.failed || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.write(data, (error) => {
      if (!error) written?.();
    });
  }

  /** Flushes and closes; resolves when the file is closed (or failed). Safe to call twice. */
  end(): Promise<void> {
    this.flush();
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    return this.closed;
  }
}
