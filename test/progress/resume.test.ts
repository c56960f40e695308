import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type EpochEvent, launch, type LaunchOptions, type TrainingEvent } from 'ddprun';
import { FIXTURES, torchPython } from '../helpers/python.js';
import { tempDir } from '../helpers/procs.js';

const python = (await torchPython()) ?? undefined;
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function train(args: Record<string, unknown>, work: string, configDir: string, env: Record<string, string> = {}) {
  const options: LaunchOptions = {
    entry: { trainer: { module: 'ultralytics.models.yolo.standin.train', className: 'DetectionTrainer', args } },
    nprocPerNode: 2,
    cwd: work,
    configDir,
    python,
    env: { PYTHONPATH: FIXTURES, ...env },
    console: false,
    gracePeriodMs: 2000,
  };
  const handle = launch(options);
  const training: TrainingEvent[] = [];
  const epochs: EpochEvent[] = [];
  handle.on('training', (e) => training.push(e));
  handle.on('epoch', (e) => epochs.push(e));
  return { result: await handle.result, training, epochs };
}

describe.skipIf(!python)('a resumed Ultralytics run', () => {
  it('is followed in the same run folder, appending to the same results.csv', async () => {
    const work = tempDir('ddprun-work-');
    const config = tempDir('ddprun-config-');
    cleanups.push(work.cleanup, config.cleanup);
    const args = { epochs: 3, device: 'cpu', name: 'r' }; // project unset: runs/detect/r, relative to the ranks' cwd
    const first = await train(args, work.dir, config.dir, { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '2' });
    const dir = path.join(work.dir, 'runs', 'detect', 'r');
    expect(first.result.exitCode).toBe(1);
    expect(first.result.rootCause?.message).toBe('RuntimeError: stand-in trainer told to die after epoch 2');
    expect(first.training).toEqual([{ saveDir: dir, epochs: 3 }]);
    expect(first.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(first.result.training).toMatchObject({ saveDir: dir, epochsDone: 2, final: { epoch: 2 } });
    const lastPt = path.join(dir, 'weights', 'last.pt');
    expect(first.result.training?.lastPt).toBe(lastPt);
    expect(existsSync(lastPt)).toBe(true);

    // resume=<last.pt>: the trainer goes on in the same folder (not runs/detect/r2) from epoch 3.
    const second = await train({ resume: lastPt, device: 'cpu' }, work.dir, config.dir);
    expect(second.result.exitCode).toBe(0);
    expect(second.training).toEqual([{ saveDir: dir, epochs: 3 }]);
    expect(existsSync(path.join(work.dir, 'runs', 'detect', 'r2'))).toBe(false);
    // The rows already in results.csv first, then the new epoch.
    expect(second.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(second.epochs.slice(0, 2).map((e) => e.metrics)).toEqual(first.epochs.map((e) => e.metrics));
    expect(second.result.training).toMatchObject({
      saveDir: dir,
      epochs: 3,
      epochsDone: 3,
      best: { epoch: 2 },
      final: { epoch: 3 },
      bestPt: path.join(dir, 'weights', 'best.pt'),
      lastPt,
    });
  });
});
