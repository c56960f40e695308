import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EpochEvent, LaunchResult, ProgressEvent, TrainingEvent } from '../../src/model/types.js';
import { runCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { torchPython } from '../helpers/python.js';
import { jsonEvents, resultsColumn, standinEnv, standinTrainArgs } from '../helpers/standin.js';
import { trainingFromEvents } from '../../src/progress/outcome.js';
import { listRuns, readRunEvents } from '../../src/store/read.js';

const box = useSandboxes();
const python = await torchPython();

/** The stand-in's mAP50-95 for epoch e (see test/fixtures/ultralytics/engine/trainer.py). */
const map = (e: number) => Math.round((0.3 + 0.1 * Math.sin(e)) * 1e5) / 1e5;

interface Events {
  training: TrainingEvent[];
  epoch: EpochEvent[];
  progress: ProgressEvent[];
  done: LaunchResult;
  all: { event: string }[];
}

async function train(s: Sandbox, extra: string[] = [], json = true) {
  const run = await runCli(standinTrainArgs(s.out, json ? ['--json'] : [], extra), {
    env: standinEnv(s.env, '0.1'),
    cwd: s.out,
  });
  expect(run.code, run.stderr).toBe(0);
  return run;
}

function events(stdout: string): Events {
  const { all, of } = jsonEvents(stdout);
  return {
    training: of<TrainingEvent>('training'),
    epoch: of<EpochEvent>('epoch'),
    progress: of<ProgressEvent>('progress'),
    done: of<LaunchResult>('done')[0] as LaunchResult,
    all,
  };
}

const csvTimes = (dir: string): number[] => resultsColumn(dir, 1);

describe.skipIf(!python)('ddprun train with an Ultralytics trainer: epochs and metrics as data', () => {
  it('emits 3 epoch events in order from the run folder, and the result names the folder, best.pt and the best epoch', async () => {
    const s = box();
    const first = events((await train(s)).stdout);
    const dir = path.join(s.out, 'runs', 'exp');
    expect(first.training).toMatchObject([{ saveDir: dir, epochs: 3 }]);
    expect(first.epoch.map((e) => [e.epoch, e.epochs, e.metrics['metrics/mAP50-95(B)']])).toEqual([
      [1, 3, map(1)],
      [2, 3, map(2)],
      [3, 3, map(3)],
    ]);
    expect(first.epoch.map((e) => e.metrics.time)).toEqual(csvTimes(dir));
    for (const e of first.epoch) expect(new Date(e.t).toISOString()).toBe(e.t);
    // Events come in order: the folder, then epochs, then done.
    const order = first.all.map((e) => e.event).filter((e) => ['training', 'epoch', 'done'].includes(e));
    expect(order).toEqual(['training', 'epoch', 'epoch', 'epoch', 'done']);
    // Ultralytics' bars on rank 0 became progress events.
    expect(first.progress.length).toBeGreaterThan(0);
    for (const p of first.progress) expect(p).toMatchObject({ rank: 0, stream: 'stdout', format: 'ultralytics' });
    expect(first.progress.some((p) => p.total === 4 && /^\d\/3 +0G/.test(p.desc))).toBe(true);
    expect(first.done.training).toEqual({
      saveDir: dir,
      task: 'detect',
      keyMetric: 'metrics/mAP50-95(B)',
      epochs: 3,
      epochsDone: 3,
      bestPt: path.join(dir, 'weights', 'best.pt'),
      lastPt: path.join(dir, 'weights', 'last.pt'),
      best: {
        epoch: 2, // 0.3 + 0.1·sin(e) peaks at e = 2
        fitness: expect.closeTo(0.1 * (map(2) + 0.2) + 0.9 * map(2), 10) as unknown,
        metrics: first.epoch[1]?.metrics,
      },
      final: { epoch: 3, metrics: first.epoch[2]?.metrics },
    });

    // The run store has the same events, in the same order, and the outcome in the run's result.
    const [run] = listRuns({ stateDir: s.state, all: true });
    const stored = readRunEvents(run?.id as string, { stateDir: s.state });
    expect(stored.filter((e) => e.event === 'epoch').map(({ v: _v, t: _t, ...e }) => e)).toEqual(
      first.epoch.map(({ t: _t, ...e }) => ({ event: 'epoch', ...e })),
    );
    expect(stored.filter((e) => e.event === 'training').map((e) => e.saveDir)).toEqual([dir]);
    expect(stored.filter((e) => e.event === 'progress').length).toBe(first.progress.length);
    expect(run?.result?.training).toEqual(first.done.training);
    // Everything the outcome says can be rebuilt from the stored events (`ddprun show` of a run without a result).
    expect(trainingFromEvents(stored)).toEqual(first.done.training);

    // A second run in the same project gets the next folder, and its events come from that folder's results.csv.
    const second = events((await train(s)).stdout);
    const dir2 = path.join(s.out, 'runs', 'exp2');
    expect(second.training).toMatchObject([{ saveDir: dir2, epochs: 3 }]);
    expect(second.epoch.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(second.epoch.map((e) => e.metrics.time)).toEqual(csvTimes(dir2));
    expect(csvTimes(dir2)).not.toEqual(csvTimes(dir));
    expect(second.done.training?.saveDir).toBe(dir2);
    expect(second.done.training?.bestPt).toBe(path.join(dir2, 'weights', 'best.pt'));
  });

  it('prints the training outcome in the summary', async () => {
    const s = box();
    const run = await train(s, ['exist_ok=True'], false);
    const dir = path.join(s.out, 'runs', 'exp');
    expect(run.stderr).toContain(`training  ${dir} (detect, 3/3 epochs)\n`);
    expect(run.stderr).toMatch(/ {2}best {4}epoch 2 · fitness 0\.4\d* · mAP50-95 0\.391 · box_loss 0\.6\n/);
    expect(run.stderr).toContain(`  final   epoch 3 · mAP50-95 0.314 · box_loss 0.433\n`);
    expect(run.stderr).toContain(
      `  weights ${path.join(dir, 'weights', 'best.pt')}\n          ${path.join(dir, 'weights', 'last.pt')}\n`,
    );
  });
});
