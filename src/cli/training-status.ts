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
 * `epoch 3/100 · mAP50-95 0.412 · box_loss 0.81 · ETA 1h12m`, then the current bar, labelled: `this epoch 45% (12.0s
 * left)`; a script's bar that names its epoch gives the overall `epoch 11/300`, one that does not its steps.
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

  /** The status text; `bar: false` leaves the current progress bar out, keeping the overall progress (`ddprun ps`). */
  text({ bar: withBar = true }: { bar?: boolean } = {}): string {
    const parts: string[] = [];
    const bar = this.bar && this.bar.n < this.bar.total ? this.bar : undefined;
    const barEpoch = bar && epochOfBar(bar);
    if (this.last && this.task) {
      const { epoch, epochs, metrics } = this.last;
      const key = keyMetricOf(this.task);
      const loss = lossOf(this.task);
      parts.push(`epoch ${epoch}/${epochs}`, `${shortName(key)} ${num(metrics[key])}`);
      if (loss in metrics) parts.push(`${shortName(loss)} ${num(metrics[loss])}`);
      const eta = this.etaSeconds();
      if (eta !== undefined && epoch < epochs) parts.push(`ETA ${formatDuration(eta * 1000)}`);
    } else if (barEpoch) {
      // Any script whose bar names its epoch (`Epoch 11/300`, Ultralytics' `11/300 …`): the overall progress.
      parts.push(`epoch ${barEpoch.epoch}/${barEpoch.epochs}`);
    }
    if (bar && (withBar || (!barEpoch && !this.last))) parts.push(barText(bar, barEpoch !== undefined, withBar));
    return parts.join(' · ');
  }
}

/** `Epoch 11/300…` (tqdm descriptions) or `11/300 …` at the start (Ultralytics' training bar): the epoch of a bar. */
export function epochOfBar(bar: ProgressEvent): { epoch: number; epochs: number } | undefined {
  const match =
    /^\s*(?:epoch\s*[:#]?\s*)?(\d+)\s*\/\s*(\d+)\b/i.exec(bar.desc) ??
    /\bepoch\s*[:#]?\s*(\d+)\s*\/\s*(\d+)\b/i.exec(String(bar.desc ?? ''));
  if (!match) return undefined;
  const epoch = Number(match[1]);
  const epochs = Number(match[2]);
  return epochs > 0 && epoch <= epochs ? { epoch, epochs } : undefined;
}

/** A bar's label: its description's first words (`train`, `Validating`), else its unit's steps (`step`). */
function barLabel(bar: ProgressEvent): string {
  const desc = String(bar.desc ?? '')
    .replace(/[:|]\s*$/, '')
    .trim();
  if (desc && desc.length <= 24 && !/\d+\s*\/\s*\d+/.test(desc)) return desc;
  if (bar.format === 'ultralytics') return 'val';
  return typeof bar.unit !== 'string' || bar.unit === 'it' || !bar.unit ? 'step' : bar.unit;
}

/**
 * The current bar, labelled: `this epoch 45% (12.0s left)` when it is the epoch's, else what it counts:
 * `step 450/1000 45% (12.0s left)` (`withLeft: false`: no time left, for `ddprun ps`).
 */
function barText(bar: ProgressEvent, ofEpoch: boolean, withLeft: boolean): string {
  const left = !withLeft || bar.remaining === undefined ? '' : ` (${formatDuration(bar.remaining * 1000)} left)`;
  const percent = `${Math.floor((bar.n / bar.total) * 100)}%`;
  return ofEpoch ? `this epoch ${percent}${left}` : `${barLabel(bar)} ${bar.n}/${bar.total} ${percent}${left}`;
}

/**
 * The progress column of `ddprun ps` for a run, from its stored events: a trainer run's `epoch 3/100 · mAP50-95 0.412 ·
 * box_loss 0.81 · ETA 1h12m`, any other run's epoch from its bar (`epoch 11/300`) or its bar's steps
 * (`step 450/1000 45%`); '' when there is none yet. The ETA uses results.csv's `time` column, so reading late is fine.
 */
export function trainingProgressOf(events: readonly ({ event: string } & Record<string, unknown>)[]): string {
  const status = new TrainingStatus();
  for (const e of events) {
    if (e.event === 'epoch') status.onEpoch(e as unknown as EpochEvent);
    else if (e.event === 'progress' && e.rank === 0) status.onProgress(e as unknown as ProgressEvent);
  }
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
