import { describe, expect, it } from 'vitest';
import { bestIndex, fitnessOf, keyMetricOf, lossOf, shortName, taskOf } from '../../src/progress/fitness.js';

const DETECT = ['epoch', 'time', 'train/box_loss', 'metrics/mAP50(B)', 'metrics/mAP50-95(B)'];
const SEGMENT = [...DETECT, 'train/seg_loss', 'metrics/mAP50(M)', 'metrics/mAP50-95(M)'];
const POSE = [...DETECT, 'train/pose_loss', 'metrics/mAP50(P)', 'metrics/mAP50-95(P)'];
const CLASSIFY = ['epoch', 'time', 'train/loss', 'metrics/accuracy_top1', 'metrics/accuracy_top5', 'val/loss'];

describe('fitness by task', () => {
  it('tells the task from the columns, and obb from args.task', () => {
    expect(taskOf(DETECT)).toBe('detect');
    expect(taskOf(SEGMENT, 'detect')).toBe('segment');
    expect(taskOf(POSE)).toBe('pose');
    expect(taskOf(CLASSIFY)).toBe('classify');
    expect(taskOf(DETECT, 'obb')).toBe('obb');
  });

  it("computes Ultralytics' fitness for each task", () => {
    const m = {
      'metrics/mAP50(B)': 0.5,
      'metrics/mAP50-95(B)': 0.3,
      'metrics/mAP50(M)': 0.4,
      'metrics/mAP50-95(M)': 0.2,
      'metrics/mAP50(P)': 0.6,
      'metrics/mAP50-95(P)': 0.1,
      'metrics/accuracy_top1': 0.7,
      'metrics/accuracy_top5': 0.9,
    };
    expect(fitnessOf('detect', m)).toBeCloseTo(0.1 * 0.5 + 0.9 * 0.3, 12);
    expect(fitnessOf('obb', m)).toBeCloseTo(0.32, 12);
    expect(fitnessOf('segment', m)).toBeCloseTo(0.32 + 0.1 * 0.4 + 0.9 * 0.2, 12);
    expect(fitnessOf('pose', m)).toBeCloseTo(0.32 + 0.1 * 0.6 + 0.9 * 0.1, 12);
    expect(fitnessOf('classify', m)).toBeCloseTo(0.8, 12);
    expect([keyMetricOf('detect'), keyMetricOf('segment'), keyMetricOf('pose'), keyMetricOf('obb')]).toEqual([
      'metrics/mAP50-95(B)',
      'metrics/mAP50-95(M)',
      'metrics/mAP50-95(P)',
      'metrics/mAP50-95(B)',
    ]);
    expect(keyMetricOf('classify')).toBe('metrics/accuracy_top1');
    expect([lossOf('detect'), lossOf('segment'), lossOf('pose'), lossOf('classify')]).toEqual([
      'train/box_loss',
      'train/seg_loss',
      'train/pose_loss',
      'train/loss',
    ]);
    expect([shortName('metrics/mAP50-95(B)'), shortName('metrics/mAP50-95(M)'), shortName('train/box_loss')]).toEqual([
      'mAP50-95',
      'mAP50-95(M)',
      'box_loss',
    ]);
  });

  it("picks best.pt's epoch as BaseTrainer does: a higher fitness, or any epoch after a best of 0", () => {
    const rows = (maps: number[]) => maps.map((v) => ({ metrics: { 'metrics/mAP50-95(B)': v } }));
    expect(bestIndex('detect', rows([0.2, 0.4, 0.3]))).toBe(1);
    expect(bestIndex('detect', rows([0.4, 0.4, 0.1]))).toBe(0); // a tie keeps the earlier epoch
    expect(bestIndex('detect', rows([0, 0, 0]))).toBe(2); // `not best_fitness` is true for 0.0
    expect(bestIndex('detect', [])).toBe(-1);
  });
});
