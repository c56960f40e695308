import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launch } from 'ddprun';
import { FIXTURES, torchPython } from '../helpers/python.js';
import { readPids, tempDir, waitGone } from '../helpers/procs.js';

const python = (await torchPython()) ?? undefined;
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
const env = { PYTHONPATH: FIXTURES };

function dirs() {
  const config = tempDir('ddprun-config-');
  const work = tempDir('ddprun-work-');
  cleanups.push(config.cleanup, work.cleanup);
  return { configDir: config.dir, work: work.dir };
}

describe.skipIf(!python)('launch() in trainer mode', () => {
  it('runs the generated entry file on every rank and removes it afterwards', async () => {
    const { configDir, work } = dirs();
    const record = path.join(work, 'record.json');
    let entryFile = '';
    const handle = launch({
      entry: {
        trainer: {
          module: 'ultralytics.models.yolo.detect.train',
          className: 'DetectionTrainer',
          args: { model: 'yolo11n.pt', epochs: 3, device: '0,1' },
        },
      },
      configDir,
      env: { ...env, DDPRUN_TEST_RECORD: record },
      console: false,
    });
    handle.on('started', () => {
      const ddp = path.join(configDir, 'DDP');
      entryFile ||= path.join(ddp, readdirSync(ddp)[0] ?? '');
    });
    const result = await handle.result;
    expect(result.exitCode).toBe(0);
    expect(result.ranks).toHaveLength(2); // world size from device "0,1"
    expect(path.basename(entryFile)).toMatch(/^_temp_[a-z0-9_]{8}\d+\.py$/);
    expect(existsSync(entryFile)).toBe(false);
    for (const rank of [0, 1]) {
      const got = JSON.parse(readFileSync(`${record}.rank${rank}`, 'utf8')) as {
        all_reduce: number;
        world_size: number;
        model: unknown;
      };
      expect(got).toMatchObject({ all_reduce: 3, world_size: 2, model: ['str', 'yolo11n.pt'] });
    }
  });

  it('leaves no entry file and no process behind after 50 launches that succeed, fail or are stopped', async () => {
    const { configDir, work } = dirs();
    const all: number[] = [];
    const outcomes = { ok: 0, fail: 0, stopped: 0 };
    for (let i = 0; i < 50; i++) {
      const pids = path.join(work, String(i));
      mkdirSync(pids);
      const outcome = (['ok', 'fail', 'sleep'] as const)[i % 3] as 'ok' | 'fail' | 'sleep';
      const handle = launch({
        entry: {
          trainer: {
            module: 'ultralytics.models.yolo.stress.train',
            className: 'StressTrainer',
            args: { outcome, pids },
          },
        },
        nprocPerNode: 2,
        configDir,
        env,
        gracePeriodMs: 2000,
        console: false,
        handleSignals: false,
      });
      // Stop some launches at once, some while ranks run, others never.
      if (outcome === 'sleep') setTimeout(() => handle.stop(i % 2 ? 'SIGINT' : 'SIGTERM'), (i * 37) % 400);
      const result = await handle.result;
      if (result.signal) outcomes.stopped++;
      else if (result.exitCode === 5) outcomes.fail++;
      else if (result.exitCode === 0) outcomes.ok++;
      expect(readdirSync(path.join(configDir, 'DDP'))).toEqual([]);
      all.push(...readPids(pids));
    }
    expect(outcomes).toEqual({ ok: 17, fail: 17, stopped: 16 });
    expect(await waitGone(all, 2000)).toEqual([]);
  });
});
