import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli/commands/index.js';
import { ddpCleanup, generateDdpFile, generateDdpFileFor } from '../../src/ultralytics/dist.js';
import { resumingTrainer } from '../../src/ultralytics/resume.js';
import type { DdpTrainer } from '../../src/model/trainer.js';
import { runPython } from '../helpers/python.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const trainer = (): DdpTrainer => ({
  module: 'ultralytics.models.yolo.detect.train',
  className: 'DetectionTrainer',
  args: { epochs: 3, device: 'cpu' },
  saveDir: '/somewhere/runs/detect/train',
});

describe('the entry file of a resumed attempt', () => {
  it('carries the resume path as a Python string literal, whatever characters it holds', async () => {
    const config = tempDir('ddprun-config-');
    cleanups.push(config.cleanup);
    const hostile = `/runs/x'); import os; os.system("touch /tmp/pwned") #\n"""\\/weights/last.pt`;
    const owner = trainer();
    const file = await generateDdpFileFor(owner, resumingTrainer(owner, hostile), { configDir: config.dir });
    // Evaluated by Python as the rank would (the part before `if __name__`, which holds `overrides`).
    const value = await runPython('python3', [
      '-c',
      `import sys\nns = {}\nexec(open(sys.argv[1]).read().split('if __name__')[0], ns)\nsys.stdout.write(ns['overrides']['resume'])`,
      file,
    ]);
    expect(value).toBe(hostile);
    // The resumed trainer never names a folder to remove; the owner's id names the file, so ddpCleanup removes it.
    expect(resumingTrainer(owner, hostile).saveDir).toBeUndefined();
    expect(resumingTrainer(owner, hostile).resume).toBe(hostile);
    expect(path.basename(file)).toContain(`${(await import('../../src/ultralytics/trainer.js')).trainerId(owner)}.py`);
    await ddpCleanup(owner, file);
    expect(() => readFileSync(file)).toThrow();
    // The first attempt's file has no resume key at all.
    const plain = await generateDdpFile(owner, { configDir: config.dir });
    expect(readFileSync(plain, 'utf8')).not.toContain("'resume'");
  });
});

describe('the command line', () => {
  it('train --no-resume sets resume: false; without it nothing is set (the default is on)', () => {
    const on = parseCli(['train', 'a.B', 'epochs=1']);
    const off = parseCli(['train', '--no-resume', 'a.B', 'epochs=1']);
    expect(on.kind === 'train' && on.options.resume).toBeUndefined();
    expect(off.kind === 'train' && off.options.resume).toBe(false);
  });

  it('resume <id> key=value… types the values as train does; a missing id is a usage error', () => {
    expect(parseCli(['resume', '--json', 'abc', 'batch=8', 'device=0,1'])).toEqual({
      kind: 'resume',
      id: 'abc',
      overrides: { batch: 8, device: [0, 1] },
      output: { dryRun: false, json: true, quiet: false },
    });
    expect(() => parseCli(['resume'])).toThrow(/Missing the run id/);
  });
});
