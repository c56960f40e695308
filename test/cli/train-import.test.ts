import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { torchPython } from '../helpers/python.js';
import { FIXTURES, runCli, useSandboxes } from './helpers.js';

// #24 item 2: the entry file runs from the config dir; the trainer's module is found in the launch directory.
const box = useSandboxes();
const python = await torchPython();

const MY_TRAINER = `import os, sys
from ultralytics.models.yolo.detect.train import DetectionTrainer


class MyTrainer(DetectionTrainer):
    def train(self):
        with open(os.path.join(os.environ["OUT"], "rank" + os.environ["RANK"]), "w") as f:
            f.write(__file__)
        return super().train()
`;

describe('ddprun train <module>.<Class> with the module in the launch directory', () => {
  it.each(['native', 'torchrun'])(
    'imports ./mytrainer.py as python -m would (%s backend)',
    async (backend) => {
      expect(python).toBeTruthy();
      const s = box();
      writeFileSync(path.join(s.out, 'mytrainer.py'), MY_TRAINER);
      // The user's own PYTHONPATH (the stand-in ultralytics) stays behind the launch directory.
      const env = { ...s.env, PYTHONPATH: FIXTURES, OUT: s.out, DDPRUN_TEST_RECORD: path.join(s.dir, 'record') };
      const run = await runCli(['train', '--backend', backend, 'mytrainer.MyTrainer', 'device=[0,1]', 'epochs=1'], {
        env,
        cwd: s.out,
      });
      expect(run.stderr).not.toContain('Error');
      expect(run.code).toBe(0);
      for (const rank of ['0', '1'])
        expect(readFileSync(path.join(s.out, `rank${rank}`), 'utf8')).toBe(path.join(s.out, 'mytrainer.py'));
    },
    120_000,
  );

  it('a trainer module found nowhere: the hint names the launch directory, not pip alone', async () => {
    expect(python).toBeTruthy();
    const s = box();
    const env = { ...s.env, PYTHONPATH: FIXTURES };
    const run = await runCli(['train', 'notmytrainer.MyTrainer', 'device=[0,1]'], { env, cwd: s.out });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `hint: \`notmytrainer\` is the trainer's module: the ranks import it from the launch directory (${s.out}), then PYTHONPATH, and neither has it: run ddprun from the folder that holds notmytrainer.py (or the notmytrainer/ package), add that folder to PYTHONPATH, or install it for`,
    );
  }, 120_000);
});
