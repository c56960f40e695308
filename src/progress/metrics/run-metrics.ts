import type { EventPublisher } from '../../model/event-stream.js';
import { MetricFiles } from './files.js';
import { MetricHub } from './hub.js';
import { MetricLineScanner } from './line.js';

/**
 * A launch's metrics (docs/metrics.md): rank 0's output lines (log dicts, the JSON form) and the metric files written
 * in the ranks' working directory, as bounded `metric` events.
 */
export class RunMetrics {
  private readonly hub: MetricHub;
  private readonly files: MetricFiles;

  constructor(events: EventPublisher, cwd: string, startedAtMs: number) {
    this.hub = new MetricHub((e) => events.publish('metric', e));
    this.files = new MetricFiles(cwd, startedAtMs, (kind, samples) => this.hub.add(kind, 0, samples));
  }

  start(): void {
    this.files.start();
  }

  /** A scanner for one stream of rank 0 (a new one per attempt). */
  scanner(): MetricLineScanner {
    return new MetricLineScanner((parsed) => this.hub.add(parsed.form, 0, parsed.samples));
  }

  /** The run ended: the files' last rows are read and every held-back value is sent. */
  finish(): void {
    this.files.stop();
    this.hub.flush();
  }
}
