import type { EpochEvent, ProgressEvent, TrainingOutcome } from '../model/types.js';
import { keyMetricOf, lossOf, shortName, taskOf, type TrainingTask } from '../progress/fitness.js';
import { formatDuration } from './format.js';

/** Epochs whose durations the ETA averages. */
const ETA_WINDOW = 5;

/** A metric as the status line shows it: 3 significant digits (`0.412`, `0.81`, `1.23`). */
function num(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : String(Number(value.toPrecision(3)));
}

/**
 * The training part of the status line, from the `epoch` and `progress` events:
 * `epoch 3/100 · mAP50-95 0.412 · box_loss 0.81 · ETA 1h12m`, then the current bar: `45% (12.0s left)`.
 */
export class TrainingStatus {
  private last: EpochEvent | undefined;
  private task: TrainingTask | undefined;
  private readonly durations: number[] = [];
  private prevTime: number | undefined;
  private prevAt: number | undefined;
  private bar: ProgressEvent | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  onEpoch(e: EpochEvent): void {
    this.task ??= taskOf(Object.keys(e.metrics));
    // Ultralytics' `time` column counts seconds since training (re)started; without it, the time between rows.
    const time = e.metrics.time;
    const at = this.now();
    let duration: number | undefined;
    if (typeof time === 'number' && Number.isFinite(time)) {
      duration = this.prevTime !== undefined && time > this.prevTime ? time - this.prevTime : time;
      this.prevTime = time;
    } else if (this.prevAt !== undefined) {
      duration = (at - this.prevAt) / 1000;
    }
    this.prevAt = at;
    if (duration !== undefined && duration > 0) {
      this.durations.push(duration);
      if (this.durations.length > ETA_WINDOW) this.durations.shift();
    }
    this.last = e;
  }

  onProgress(e: ProgressEvent): void {
    this.bar = e;
  }

  /** Seconds until the last epoch ends, from the mean of the latest epoch durations. */
  etaSeconds(): number | undefined {
    if (!this.last || this.durations.length === 0) return undefined;
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    return Math.max(0, this.last.epochs - this.last.epoch) * mean;
  }

  /** The status text; `bar: false` leaves the current progress bar out (`ddprun ps`). */
  text({ bar: withBar = true }: { bar?: boolean } = {}): string {
    const parts: string[] = [];
    if (this.last && this.task) {
      const { epoch, epochs, metrics } = this.last;
      const key = keyMetricOf(this.task);
      const loss = lossOf(this.task);
      parts.push(`epoch ${epoch}/${epochs}`, `${shortName(key)} ${num(metrics[key])}`);
      if (loss in metrics) parts.push(`${shortName(loss)} ${num(metrics[loss])}`);
      const eta = this.etaSeconds();
      if (eta !== undefined && epoch < epochs) parts.push(`ETA ${formatDuration(eta * 1000)}`);
    }
    const bar = withBar ? this.bar : undefined;
    if (bar && bar.n < bar.total) {
      const left = bar.remaining === undefined ? '' : ` (${formatDuration(bar.remaining * 1000)} left)`;
      parts.push(`${Math.floor((bar.n / bar.total) * 100)}%${left}`);
    }
    return parts.join(' · ');
  }
}

/**
 * The training column of `ddprun ps` for a run, from its stored events: `epoch 3/100 · mAP50-95 0.412 · box_loss 0.81 ·
 * ETA 1h12m` ('' when the run has no epoch yet). The ETA uses results.csv's `time` column, so reading late is fine.
 */
export function trainingProgressOf(events: readonly ({ event: string } & Record<string, unknown>)[]): string {
  const status = new TrainingStatus();
  for (const e of events) if (e.event === 'epoch') status.onEpoch(e as unknown as EpochEvent);
  return status.text({ bar: false });
}

/** The training outcome as the summary (and `ddprun show`) prints it. */
export function formatTraining(t: TrainingOutcome): string {
  const key = shortName(t.keyMetric);
  const loss = lossOf(t.task);
  const metricsText = (metrics: Record<string, number>) => [
    `${key} ${num(metrics[t.keyMetric])}`,
    ...(loss in metrics ? [`${shortName(loss)} ${num(metrics[loss])}`] : []),
  ];
  const lines = [`training  ${t.saveDir} (${t.task}, ${t.epochsDone}/${t.epochs} epochs)`];
  if (t.best)
    lines.push(
      `  best    epoch ${t.best.epoch} · fitness ${num(t.best.fitness)} · ${metricsText(t.best.metrics).join(' · ')}`,
    );
  if (t.final) lines.push(`  final   epoch ${t.final.epoch} · ${metricsText(t.final.metrics).join(' · ')}`);
  const weights = [t.bestPt, t.lastPt].filter((w) => w !== undefined);
  weights.forEach((w, i) => lines.push(`  ${i === 0 ? 'weights' : '       '} ${w}`));
  return lines.join('\n');
}
