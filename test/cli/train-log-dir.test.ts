import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ensureBuilt, runCli, useSandboxes, type Sandbox } from './helpers.js';
import { torchPython } from '../helpers/python.js';

beforeAll(() => ensureBuilt());
const box = useSandboxes();
const python = await torchPython();
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');
const TRAINER = 'ultralytics.models.yolo.standin.train.DetectionTrainer';

function train(s: Sandbox, logDir: string) {
  return runCli(
    [
      'train',
      '--quiet',
      '--nproc-per-node',
      '2',
      '--log-dir',
      logDir,
      TRAINER,
      'epochs=1',
      'device=cpu',
      `project=${path.join(s.out, 'runs')}`,
      'name=exp',
    ],
    { env: { ...s.env, PYTHONPATH: FIXTURES, DDPRUN_STANDIN_BATCH_S: '0.01' }, cwd: s.out },
  );
}

describe.skipIf(!python)('ddprun train --log-dir', () => {
  it('writes each run under its own <run id>_<random>/ folder, as a launch does, so a second run never collides', async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    for (const _ of [1, 2]) {
      const run = await train(s, logDir);
      expect(run.stderr).not.toContain('already exists');
      expect(run.code).toBe(0);
    }
    const runs = readdirSync(logDir).sort();
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run).toMatch(/^none_[0-9a-f]{8}$/);
      expect(readdirSync(path.join(logDir, run, 'attempt_0')).sort()).toEqual(['0', '1']);
    }
  });
});
