import { closeSync, openSync, readSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { MetricsCsvReader } from './csv.js';
import { isMetricName, type MetricSample } from './line.js';
import { TfEventsReader, TfRecordError } from './tfevents.js';

/** How often the followed files are read. */
export const METRIC_FILES_POLL_MS = 1_000;
/** How often the working directory is searched for new metric files. */
export const METRIC_FILES_SCAN_MS = 5_000;
/** Folders below the working directory searched (`lightning_logs/version_0/metrics.csv` is 2 deep; HF's `out/runs/<date>/events…` 3). */
export const SCAN_DEPTH = 4;
/** Directory entries looked at per search (breadth first: a data set folder cannot make the search unbounded). */
export const SCAN_ENTRIES = 5_000;
/** Files followed at once. */
const MAX_FILES = 32;
/** Bytes read from one file per poll. */
const READ_CHUNK = 4 * 1024 * 1024;
/** Folders that never hold a run's logs and may be large. */
const SKIP_DIRS = new Set(['node_modules', '__pycache__', 'site-packages', 'wandb']);
/** A file older than the launch by more than this is an earlier run's. */
const MTIME_SLACK_MS = 2_000;

type Kind = 'csv' | 'tensorboard';

export function metricFileKind(name: string): Kind | undefined {
  if (name === 'metrics.csv') return 'csv';
  if (name.startsWith('events.out.tfevents.')) return 'tensorboard';
  return undefined;
}

interface Followed {
  kind: Kind;
  offset: number;
  csv?: MetricsCsvReader;
  tf?: TfEventsReader;
  /** Stopped: unreadable as what its name says. */
  dead: boolean;
}

/**
 * Finds the metric files a run writes in its working directory (Lightning's `metrics.csv`, TensorBoard's
 * `events.out.tfevents.*`; only files modified since the launch started) and follows them as they grow. Every
 * sample goes to `onSamples` with its file's kind.
 */
export class MetricFiles {
  private readonly files = new Map<string, Followed>();
  private pollTimer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly root: string,
    private readonly sinceMs: number,
    private readonly onSamples: (kind: Kind, samples: MetricSample[]) => void,
  ) {}

  start(): void {
    this.scan();
    this.pollTimer = setInterval(() => this.poll(), METRIC_FILES_POLL_MS);
    this.scanTimer = setInterval(() => this.scan(), METRIC_FILES_SCAN_MS);
    this.pollTimer.unref();
    this.scanTimer.unref();
  }

  /** Stops following, after a last search and read (what the run wrote last). Safe to call more than once. */
  stop(): void {
    if (this.pollTimer === undefined) return;
    clearInterval(this.pollTimer);
    clearInterval(this.scanTimer);
    this.pollTimer = undefined;
    this.scan();
    this.poll();
  }

  /** The files followed (for tests and `--json`). */
  followed(): string[] {
    return [...this.files.keys()];
  }

  scan(): void {
    let seen = 0;
    let level: string[] = [this.root];
    for (let depth = 0; depth <= SCAN_DEPTH && level.length && seen < SCAN_ENTRIES; depth++) {
      const next: string[] = [];
      for (const dir of level) {
        let entries: Dirent[];
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch {
          continue;
        }
        for (const e of entries) {
          if (++seen > SCAN_ENTRIES) break;
          const full = path.join(dir, e.name);
          if (e.isDirectory()) {
            if (!e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) next.push(full);
          } else if (e.isFile()) this.consider(full, e.name);
        }
      }
      level = next;
    }
  }

  private consider(file: string, name: string): void {
    const kind = metricFileKind(name);
    if (!kind || this.files.has(file) || this.files.size >= MAX_FILES) return;
    try {
      if (statSync(file).mtimeMs < this.sinceMs - MTIME_SLACK_MS) return;
    } catch {
      return;
    }
    this.files.set(file, {
      kind,
      offset: 0,
      dead: false,
      ...(kind === 'csv' ? { csv: new MetricsCsvReader() } : { tf: new TfEventsReader() }),
    });
  }

  poll(): void {
    for (const [file, f] of this.files) if (!f.dead) this.read(file, f);
  }

  private read(file: string, f: Followed): void {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const size = statSync(file).size;
      if (f.kind === 'csv' && this.rewritten(fd, f, size)) {
        // Lightning rewrites the whole file when a new column appears: read it again, past the rows already sent.
        f.csv = new MetricsCsvReader(f.csv!.rows);
        f.offset = 0;
      }
      while (f.offset < size) {
        const buf = Buffer.alloc(Math.min(READ_CHUNK, size - f.offset));
        const got = readSync(fd, buf, 0, buf.length, f.offset);
        if (got === 0) break;
        f.offset += got;
        const bytes = buf.subarray(0, got);
        if (f.csv) for (const row of f.csv.push(bytes)) this.onSamples('csv', row);
        else {
          // Lightning's TensorBoardLogger logs `epoch` as a scalar: a position, not a metric.
          const scalars = f.tf!.push(bytes).filter((s) => isMetricName(s.tag));
          if (scalars.length)
            this.onSamples(
              'tensorboard',
              scalars.map((s) => ({ name: s.tag, value: s.value, step: s.step })),
            );
        }
      }
    } catch (error) {
      if (error instanceof TfRecordError) f.dead = true; // not an event file after all: left alone
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Whether a CSV was rewritten since read: shorter now, or its header is no longer the one read. */
  private rewritten(fd: number, f: Followed, size: number): boolean {
    if (size < f.offset) return true;
    const header = f.csv?.headerLine;
    if (header === undefined || size === f.offset) return false;
    const head = Buffer.alloc(Buffer.byteLength(header) + 1);
    const got = readSync(fd, head, 0, head.length, 0);
    return (
      head
        .subarray(0, got)
        .toString('utf8')
        .replace(/\r?\n?$/, '') !== header
    );
  }
}
