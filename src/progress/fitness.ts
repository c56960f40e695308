/** The Ultralytics tasks, each with its own `results.csv` columns. */
export type TrainingTask = 'detect' | 'segment' | 'pose' | 'obb' | 'classify';

const TASKS: readonly TrainingTask[] = ['detect', 'segment', 'pose', 'obb', 'classify'];

/** How a task's epochs are compared and shown: Ultralytics' fitness, the metric that matters and the main loss. */
interface TaskRule {
  /**
   * Ultralytics' `fitness`: 0.1 × mAP50 + 0.9 × mAP50-95 per kind of box/mask/keypoint, summed; classify: mean of top-1
   * and top-5.
   */
  fitness: readonly (readonly [string, number])[];
  keyMetric: string;
  loss: string;
}

const box = (kind: string): [string, number][] => [
  [`metrics/mAP50(${kind})`, 0.1],
  [`metrics/mAP50-95(${kind})`, 0.9],
];

const RULES: Readonly<Record<TrainingTask, TaskRule>> = {
  detect: { fitness: box('B'), keyMetric: 'metrics/mAP50-95(B)', loss: 'train/box_loss' },
  obb: { fitness: box('B'), keyMetric: 'metrics/mAP50-95(B)', loss: 'train/box_loss' },
  // SegmentMetrics.fitness = box.fitness() + seg.fitness(); the mask mAP is what a segmentation model is for.
  segment: { fitness: [...box('B'), ...box('M')], keyMetric: 'metrics/mAP50-95(M)', loss: 'train/seg_loss' },
  // PoseMetrics.fitness = box.fitness() + pose.fitness(); the keypoint mAP is what a pose model is for.
  pose: { fitness: [...box('B'), ...box('P')], keyMetric: 'metrics/mAP50-95(P)', loss: 'train/pose_loss' },
  classify: {
    fitness: [
      ['metrics/accuracy_top1', 0.5],
      ['metrics/accuracy_top5', 0.5],
    ],
    keyMetric: 'metrics/accuracy_top1',
    loss: 'train/loss',
  },
};

/**
 * The task of a run: `args.task` when it is one Ultralytics knows and the columns agree, else what the columns say
 * (`(M)` segment, `(P)` pose, `accuracy_top1` classify, else detect; obb has detect's columns, so only `task=obb` says
 * it).
 */
export function taskOf(columns: readonly string[], argsTask?: unknown): TrainingTask {
  const has = (suffix: string) => columns.some((c) => c.endsWith(suffix));
  const fromColumns: TrainingTask = has('(M)')
    ? 'segment'
    : has('(P)')
      ? 'pose'
      : columns.includes('metrics/accuracy_top1')
        ? 'classify'
        : 'detect';
  if (argsTask === 'obb' && fromColumns === 'detect') return 'obb';
  if (typeof argsTask === 'string' && (TASKS as readonly string[]).includes(argsTask) && argsTask === fromColumns)
    return argsTask;
  return fromColumns;
}

/** Ultralytics' fitness of one epoch's metrics for `task` (missing columns count 0, as an empty validation does). */
export function fitnessOf(task: TrainingTask, metrics: Readonly<Record<string, number>>): number {
  let sum = 0;
  for (const [column, weight] of RULES[task].fitness) {
    const value = metrics[column];
    if (typeof value === 'number' && Number.isFinite(value)) sum += weight * value;
  }
  return sum;
}

/** The column of the metric that matters for `task` (shown in the status line and the summary). */
export function keyMetricOf(task: TrainingTask): string {
  return RULES[task].keyMetric;
}

/** The column of the task's main training loss, shown in the status line. */
export function lossOf(task: TrainingTask): string {
  return RULES[task].loss;
}

/**
 * The epoch whose weights are `best.pt`, as BaseTrainer picks it: a new best when `not best_fitness or best_fitness <
 * fitness` — so an epoch after a best fitness of 0 replaces it, and a tie with a non-zero best keeps the earlier one.
 */
export function bestIndex(task: TrainingTask, rows: readonly { metrics: Readonly<Record<string, number>> }[]): number {
  let best: number | undefined;
  let index = -1;
  rows.forEach((row, i) => {
    const fitness = fitnessOf(task, row.metrics);
    if (!best || best < fitness) {
      best = fitness;
      index = i;
    }
  });
  return index;
}

/** A column as a person reads it: `mAP50-95` for detection's `metrics/mAP50-95(B)`, `box_loss` for `train/box_loss`. */
export function shortName(column: string): string {
  return column.replace(/^(metrics|train)\//, '').replace(/\(B\)$/, '');
}
