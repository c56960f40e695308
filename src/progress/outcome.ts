import { existsSync } from 'node:fs';
import path from 'node:path';
import { bestIndex, fitnessOf, keyMetricOf, taskOf } from './fitness.js';
import type { ResultsRow } from './results-csv.js';
import type { TrainingOutcome } from '../model/types.js';

/**
 * What a run produced, from its results.csv rows: the best epoch by Ultralytics' fitness, the final metrics and the
 * weights that exist now. A row for an epoch run again after a resume replaces the earlier one.
 */
export function trainingOutcome(
  saveDir: string,
  epochs: number,
  rows: readonly ResultsRow[],
  argsTask?: unknown,
): TrainingOutcome {
  const byEpoch = new Map<number, ResultsRow>();
  for (const row of rows) byEpoch.set(row.epoch, row);
  const sorted = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const columns = new Set<string>();
  for (const row of sorted) for (const key of Object.keys(row.metrics)) columns.add(key);
  const task = taskOf([...columns], argsTask);
  const best = sorted[bestIndex(task, sorted)];
  const last = sorted.at(-1);
  const weight = (name: string) => {
    const file = path.join(saveDir, 'weights', name);
    return existsSync(file) ? file : undefined;
  };
  return {
    saveDir,
    task,
    keyMetric: keyMetricOf(task),
    epochs,
    epochsDone: sorted.length,
    bestPt: weight('best.pt'),
    lastPt: weight('last.pt'),
    best: best && { epoch: best.epoch, fitness: fitnessOf(task, best.metrics), metrics: best.metrics },
    final: last && { epoch: last.epoch, metrics: last.metrics },
  };
}

/** A stored or live event, as far as the training outcome needs it. */
type TrainingEventLike = { event: string } & Record<string, unknown>;

/**
 * The training outcome so far from a run's events (`training`, then `epoch`s): for a run still going, or one whose
 * launcher died before it could write its result. Undefined when the run never named a run folder.
 */
export function trainingFromEvents(events: readonly TrainingEventLike[]): TrainingOutcome | undefined {
  let saveDir: string | undefined;
  let epochs = 0;
  let rows: ResultsRow[] = [];
  for (const e of events) {
    if (e.event === 'training' && typeof e.saveDir === 'string') {
      if (e.saveDir !== saveDir) rows = [];
      saveDir = e.saveDir;
      epochs = Number(e.epochs) || epochs;
    } else if (e.event === 'epoch' && typeof e.epoch === 'number') {
      rows.push({ epoch: e.epoch, metrics: (e.metrics ?? {}) as Record<string, number> });
      epochs = Number(e.epochs) || epochs;
    }
  }
  return saveDir === undefined ? undefined : trainingOutcome(saveDir, epochs, rows);
}
