import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EventPublisher } from '../model/event-stream.js';
import { trainingOutcome } from './outcome.js';
import { ResultsCsvReader, type ResultsRow } from './results-csv.js';
import type { TrainingOutcome } from '../model/types.js';

/** How often results.csv is looked at while rank 0 trains. */
export const RESULTS_POLL_MS = 500;
/** Ultralytics' default `epochs`. */
const DEFAULT_EPOCHS = 100;

/** `key: value` of a flat YAML file such as Ultralytics' args.yaml (scalars only; what is needed here). */
function yamlScalar(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:[ \\t]*(.*?)[ \\t]*$`, 'm').exec(text);
  return m?.[1]?.replace(/^(['"])(.*)\1$/, '$2');
}

/**
 * Follows one Ultralytics run for a launch: learns its run folder from rank 0 (`Logging results to <dir>`), reads
 * `args.yaml` for `epochs`, follows `results.csv` as rank 0 appends to it and emits an `epoch` event per new row,
 * and at the end tells what the run produced. A restarted attempt that announces the same folder (a resume) goes on
 * from where the file was read; another folder starts over.
 */
export class TrainingTracker {
  private saveDir: string | undefined;
  private epochs: number;
  private task: unknown;
  private reader = new ResultsCsvReader();
  private offset = 0;
  private rows: ResultsRow[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: EventPublisher,
    private readonly cwd: string,
    args: Readonly<Record<string, unknown>>,
  ) {
    this.epochs = typeof args.epochs === 'number' && args.epochs > 0 ? args.epochs : DEFAULT_EPOCHS;
    this.task = args.task;
  }

  /** Rank 0 named its run folder (relative paths are relative to the ranks' working directory). */
  runFolder(dir: string): void {
    const saveDir = path.resolve(this.cwd, dir);
    if (saveDir !== this.saveDir) {
      this.saveDir = saveDir;
      this.reader = new ResultsCsvReader();
      this.offset = 0;
      this.rows = [];
      this.readArgs(saveDir);
    }
    this.events.publish('training', { saveDir, epochs: this.epochs });
    this.poll();
    if (!this.timer) {
      this.timer = setInterval(() => this.poll(), RESULTS_POLL_MS);
      this.timer.unref();
    }
  }

  /**
   * The run folder named so far and the last epoch its results.csv holds (read now), or undefined before any folder.
   */
  checkpoint(): { saveDir: string; epoch: number | undefined } | undefined {
    if (!this.saveDir) return undefined;
    this.poll();
    return { saveDir: this.saveDir, epoch: this.rows.at(-1)?.epoch };
  }

  /** Stops following results.csv (safe to call more than once). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops following, reads the rows written last, and returns the outcome (undefined when no folder was named). */
  finish(): TrainingOutcome | undefined {
    this.stop();
    const saveDir = this.saveDir;
    if (!saveDir) return undefined;
    this.poll();
    return trainingOutcome(saveDir, this.epochs, this.rows, this.task);
  }

  private readArgs(saveDir: string): void {
    let text: string;
    try {
      text = readFileSync(path.join(saveDir, 'args.yaml'), 'utf8');
    } catch {
      return; // not written (yet): the trainer's own args stand
    }
    const epochs = Number(yamlScalar(text, 'epochs'));
    if (Number.isInteger(epochs) && epochs > 0) this.epochs = epochs;
    this.task = yamlScalar(text, 'task') ?? this.task;
  }

  private poll(): void {
    if (!this.saveDir) return;
    const file = path.join(this.saveDir, 'results.csv');
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return; // no epoch finished yet
    }
    if (size < this.offset) {
      // Rewritten from the start (a fresh run reusing the folder with exist_ok): read it again.
      this.reader = new ResultsCsvReader();
      this.offset = 0;
      this.rows = [];
    }
    if (size === this.offset) return;
    const bytes = Buffer.alloc(size - this.offset);
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const got = readSync(fd, bytes, 0, bytes.length, this.offset);
      this.offset += got;
      for (const row of this.reader.push(bytes.subarray(0, got))) {
        this.rows.push(row);
        this.events.publish('epoch', {
          epoch: row.epoch,
          epochs: this.epochs,
          metrics: row.metrics,
          t: new Date().toISOString(),
        });
      }
    } catch {
      // Unreadable for now (replaced while read): the next poll tries again.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
