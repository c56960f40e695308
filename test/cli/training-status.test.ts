import { describe, expect, it } from 'vitest';
import { TrainingStatus, formatTraining } from '../../src/cli/training-status.js';
import type { EpochEvent, ProgressEvent } from '../../src/model/types.js';

const epoch = (e: number, time: number, map: number, loss: number, epochs = 100): EpochEvent => ({
  epoch: e,
  epochs,
  metrics: { time, 'train/box_loss': loss, 'metrics/mAP50(B)': map + 0.2, 'metrics/mAP50-95(B)': map },
  t: new Date(0).toISOString(),
});

const bar = (n: number, total: number, remaining?: number): ProgressEvent => ({
  rank: 0,
  stream: 'stderr',
  format: 'tqdm',
  desc: '',
  n,
  total,
  unit: 'it',
  ...(remaining === undefined ? {} : { remaining }),
});

describe('the training status line', () => {
  it('shows the epoch, the key metric, the loss and the ETA from the epoch times', () => {
    const status = new TrainingStatus();
    expect(status.text()).toBe('');
    status.onEpoch(epoch(1, 44, 0.301, 1.234));
    status.onEpoch(epoch(2, 88, 0.35, 0.9));
    status.onEpoch(epoch(3, 132, 0.4123, 0.8104));
    // 97 epochs left × 44 s = 71 min 8 s.
    expect(status.text()).toBe('epoch 3/100 · mAP50-95 0.412 · box_loss 0.81 · ETA 1h11m');
  });

  it('adds the current bar, labelled by what it counts: its steps, percentage and time left, while it runs', () => {
    const status = new TrainingStatus();
    status.onProgress(bar(45, 100, 12));
    expect(status.text()).toBe('step 45/100 45% (12.0s left)');
    status.onProgress(bar(46, 100));
    expect(status.text()).toBe('step 46/100 46%');
    status.onProgress({ ...bar(46, 100), desc: 'Training:' });
    expect(status.text()).toBe('Training 46/100 46%');
    status.onProgress(bar(100, 100, 0));
    expect(status.text()).toBe('');
  });

  it("shows the overall progress, epoch n/N, and labels the inner bar as the epoch's (#24 item 15)", () => {
    // A script's tqdm bar that names its epoch: the overall progress comes from it.
    const script = new TrainingStatus();
    script.onProgress({ ...bar(12, 100, 2), desc: 'Epoch 11/300' });
    expect(script.text()).toBe('epoch 11/300 · this epoch 12% (2.0s left)');
    // `ddprun ps`: the overall progress alone; a bar without an epoch gives its steps.
    expect(script.text({ bar: false })).toBe('epoch 11/300');
    const steps = new TrainingStatus();
    steps.onProgress(bar(450, 1000, 30));
    expect(steps.text({ bar: false })).toBe('step 450/1000 45%');
    // A trainer run: the epochs from results.csv, and Ultralytics' bar (`11/300 …`) labelled as this epoch's.
    const trainer = new TrainingStatus();
    trainer.onEpoch(epoch(10, 440, 0.3, 1.1, 300));
    trainer.onProgress({ ...bar(6, 100, 2), format: 'ultralytics', desc: '11/300      0G      1.1      2' });
    expect(trainer.text()).toBe('epoch 10/300 · mAP50-95 0.3 · box_loss 1.1 · ETA 35h26m · this epoch 6% (2.0s left)');
    expect(trainer.text({ bar: false })).toBe('epoch 10/300 · mAP50-95 0.3 · box_loss 1.1 · ETA 35h26m');
  });

  it('counts a resumed run (its time column starts again) by the new epoch durations', () => {
    const status = new TrainingStatus();
    status.onEpoch(epoch(5, 100, 0.1, 1, 10));
    status.onEpoch(epoch(6, 20, 0.1, 1, 10)); // restarted clock: this epoch took 20 s
    expect(status.etaSeconds()).toBe(4 * 60); // mean of 100 s and 20 s, 4 epochs left
    status.onEpoch(epoch(10, 200, 0.1, 1, 10));
    expect(status.text()).toBe('epoch 10/10 · mAP50-95 0.1 · box_loss 1');
  });

  it('shows the key metric of a segmentation or classification run', () => {
    const seg = new TrainingStatus();
    seg.onEpoch({
      epoch: 1,
      epochs: 2,
      metrics: { 'train/seg_loss': 2.5, 'metrics/mAP50-95(B)': 0.5, 'metrics/mAP50-95(M)': 0.25 },
      t: '',
    });
    expect(seg.text()).toBe('epoch 1/2 · mAP50-95(M) 0.25 · seg_loss 2.5');
    const cls = new TrainingStatus();
    cls.onEpoch({ epoch: 1, epochs: 2, metrics: { 'train/loss': 0.7, 'metrics/accuracy_top1': 0.91 }, t: '' });
    expect(cls.text()).toBe('epoch 1/2 · accuracy_top1 0.91 · loss 0.7');
  });

  it('prints the outcome of a run for the summary', () => {
    const metrics = epoch(2, 1, 0.39093, 0.6).metrics;
    expect(
      formatTraining({
        saveDir: '/w/runs/detect/train2',
        task: 'detect',
        keyMetric: 'metrics/mAP50-95(B)',
        epochs: 3,
        epochsDone: 3,
        bestPt: '/w/runs/detect/train2/weights/best.pt',
        lastPt: '/w/runs/detect/train2/weights/last.pt',
        best: { epoch: 2, fitness: 0.411, metrics },
        final: { epoch: 3, metrics: epoch(3, 2, 0.31411, 0.43333).metrics },
      }),
    ).toBe(
      [
        'training  /w/runs/detect/train2 (detect, 3/3 epochs)',
        '  best    epoch 2 · fitness 0.411 · mAP50-95 0.391 · box_loss 0.6',
        '  final   epoch 3 · mAP50-95 0.314 · box_loss 0.433',
        '  weights /w/runs/detect/train2/weights/best.pt',
        '          /w/runs/detect/train2/weights/last.pt',
      ].join('\n'),
    );
  });
});

describe('training data of a stored run (ddprun ps, ddprun show)', () => {
  it('gives the epoch, key metric, loss and ETA of a live run from its stored events', async () => {
    const { trainingProgressOf } = await import('../../src/cli/training-status.js');
    const stored = [
      { v: 1, t: '2026-01-01T00:00:00.000Z', event: 'started', rank: 0 },
      { v: 1, t: '2026-01-01T00:00:01.000Z', event: 'training', saveDir: '/w/runs/detect/train', epochs: 10 },
      { v: 1, t: '2026-01-01T00:01:00.000Z', event: 'progress', rank: 0, n: 5, total: 10 },
      { ...epoch(1, 60, 0.2, 1.5, 10), v: 1, t: '2026-01-01T00:02:00.000Z', event: 'epoch' },
      { ...epoch(2, 120, 0.25, 1.2, 10), v: 1, t: '2026-01-01T00:03:00.000Z', event: 'epoch' },
    ];
    expect(trainingProgressOf(stored)).toBe('epoch 2/10 · mAP50-95 0.25 · box_loss 1.2 · ETA 8m00s');
    // Before the first epoch: the bar's steps.
    expect(trainingProgressOf(stored.slice(0, 3))).toBe('step 5/10 50%');
    expect(trainingProgressOf(stored.slice(0, 2))).toBe('');
  });
});
