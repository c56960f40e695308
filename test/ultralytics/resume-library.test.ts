import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getRun, launch, type LaunchOptions, listRuns, type RestartingEvent, resumeRun, UsageError } from 'ddprun';
import { FIXTURES, torchPython } from '../helpers/python.js';
import { tempDir } from '../helpers/procs.js';
import { epochsOf } from '../helpers/standin.js';

const python = (await torchPython()) ?? undefined;
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function options(work: string, config: string, maxRestarts: number, env: Record<string, string>): LaunchOptions {
  return {
    entry: {
      trainer: {
        module: 'ultralytics.models.yolo.standin.train',
        className: 'DetectionTrainer',
        args: { epochs: 3, device: 'cpu', project: path.join(work, 'runs'), name: 'lib' },
      },
    },
    nprocPerNode: 2,
    maxRestarts,
    cwd: work,
    configDir: config,
    python,
    env: { PYTHONPATH: FIXTURES, DDPRUN_STANDIN_BATCH_S: '0.05', ...env },
    console: false,
    handleSignals: false,
    gracePeriodMs: 2000,
  };
}

describe.skipIf(!python)('resume in the library', () => {
  it("handle.on('restarting') carries resumeFrom and the epoch; the result lists the resumed attempt", async () => {
    const work = tempDir('ddprun-work-');
    const config = tempDir('ddprun-config-');
    cleanups.push(work.cleanup, config.cleanup);
    const handle = launch(options(work.dir, config.dir, 1, { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1' }));
    const restarting: RestartingEvent[] = [];
    handle.on('restarting', (e) => restarting.push(e));
    const result = await handle.result;
    const lastPt = path.join(work.dir, 'runs', 'lib', 'weights', 'last.pt');
    expect(result.exitCode).toBe(0);
    expect(restarting).toEqual([
      { attempt: 1, reason: 'rank 0 failed with exit code 1', resumeFrom: lastPt, epoch: 1 },
    ]);
    expect(result.resumes).toEqual([{ attempt: 1, resumeFrom: lastPt, epoch: 1 }]);
    expect(epochsOf(path.join(work.dir, 'runs', 'lib'))).toEqual([1, 2, 3]);
  });

  it('resumeRun(id) continues a failed run from its last.pt as a new run; bad ids and keys reject before anything starts', async () => {
    const work = tempDir('ddprun-work-');
    const config = tempDir('ddprun-config-');
    cleanups.push(work.cleanup, config.cleanup);
    const first = launch(options(work.dir, config.dir, 0, { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '2' }));
    const failed = await first.result;
    expect(failed.exitCode).toBe(1);
    const oldId = first.runId as string;
    const before = listRuns({ all: true }).length;
    await expect(resumeRun(oldId, { lr0: 0.1 })).rejects.toThrow(UsageError);
    await expect(resumeRun(oldId, { lr0: 0.1 })).rejects.toThrow(/only imgsz, batch, device, close_mosaic may change/);
    await expect(resumeRun('no-such-run')).rejects.toThrow('No run is named "no-such-run"');
    expect(listRuns({ all: true })).toHaveLength(before);

    // The same env (DIE_AFTER_EPOCH=2) comes along, but epoch 2 is not trained again: the resumed run starts at 3.
    const handle = await resumeRun(oldId, { batch: 4 }, { console: false, handleSignals: false });
    const result = await handle.result;
    expect(result.exitCode).toBe(0);
    const dir = path.join(work.dir, 'runs', 'lib');
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    expect(getRun(handle.runId as string).resumedFrom).toEqual({
      id: oldId,
      checkpoint: path.join(dir, 'weights', 'last.pt'),
      epoch: 2,
    });
  });
});
