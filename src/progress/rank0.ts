import type { EventPublisher } from '../model/event-stream.js';
import { ProgressScanner } from './scanner.js';
import type { RunMetrics } from './metrics/run-metrics.js';
import type { TrainingTracker } from './training.js';

/** What the supervisor feeds rank 0's output to, chunk by chunk, for one attempt. */
export interface OutputWatcher {
  push(stream: 'stdout' | 'stderr', chunk: string): void;
  /** Both streams ended: send what the throttle still holds. */
  end(): void;
}

/**
 * A watcher of rank 0 that emits `progress` events, gives its metric lines to `metrics`, and in trainer mode tells
 * `tracker` the run folder.
 */
export function watchRank0(
  events: EventPublisher,
  tracker: TrainingTracker | undefined,
  metrics?: RunMetrics,
): OutputWatcher {
  const scanner = (stream: 'stdout' | 'stderr') =>
    new ProgressScanner({
      onProgress: (update) => events.publish('progress', { rank: 0, stream, ...withoutUndefined(update) }),
      onRunFolder: tracker && ((dir) => tracker.runFolder(dir)),
    });
  const scanners = { stdout: scanner('stdout'), stderr: scanner('stderr') };
  const lines = metrics && { stdout: metrics.scanner(), stderr: metrics.scanner() };
  return {
    push: (stream, chunk) => {
      scanners[stream].push(chunk);
      lines?.[stream].push(chunk);
    },
    end: () => {
      scanners.stdout.flush();
      scanners.stderr.flush();
    },
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
