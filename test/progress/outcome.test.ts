import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { trainingFromEvents, trainingOutcome } from '../../src/progress/outcome.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const row = (epoch: number, map: number) => ({
  epoch,
  metrics: { 'metrics/mAP50(B)': map, 'metrics/mAP50-95(B)': map },
});

describe('the training outcome', () => {
  it('names the weights that exist, the best epoch by fitness and the final one; a re-run epoch replaces its row', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(path.join(dir, 'weights'));
    writeFileSync(path.join(dir, 'weights', 'last.pt'), '');
    const outcome = trainingOutcome(dir, 5, [row(1, 0.1), row(2, 0.5), row(3, 0.2), row(3, 0.3)]);
    expect(outcome).toEqual({
      saveDir: dir,
      task: 'detect',
      keyMetric: 'metrics/mAP50-95(B)',
      epochs: 5,
      epochsDone: 3,
      bestPt: undefined,
      lastPt: path.join(dir, 'weights', 'last.pt'),
      best: { epoch: 2, fitness: 0.5, metrics: row(2, 0.5).metrics },
      final: { epoch: 3, metrics: row(3, 0.3).metrics },
    });
  });

  it('is rebuilt from stored events, following the last run folder named', () => {
    const events = [
      { event: 'training', saveDir: '/nowhere/a', epochs: 3 },
      { event: 'epoch', epoch: 1, epochs: 3, metrics: row(1, 0.9).metrics },
      { event: 'training', saveDir: '/nowhere/b', epochs: 4 },
      { event: 'epoch', epoch: 1, epochs: 4, metrics: row(1, 0.2).metrics },
      { event: 'epoch', epoch: 2, epochs: 4, metrics: row(2, 0.1).metrics },
    ];
    expect(trainingFromEvents(events)).toMatchObject({
      saveDir: '/nowhere/b',
      epochs: 4,
      epochsDone: 2,
      best: { epoch: 1 },
      final: { epoch: 2 },
    });
    expect(trainingFromEvents([{ event: 'started' }])).toBeUndefined();
  });
});
