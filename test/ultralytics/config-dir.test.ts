import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configDirCandidates, getUserConfigDir } from '../../src/ultralytics/config-dir.js';
import { ddpCleanup, generateDdpFile } from '../../src/ultralytics/dist.js';

let tmp: string;
// A sub-directory name of our own, so the /tmp and cwd fallbacks never touch a real Ultralytics dir.
const sub = `ddprun-test-${process.pid}`;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ddprun-configdir-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  await rm(path.join('/tmp', sub), { recursive: true, force: true });
  await rm(path.join(process.cwd(), sub), { recursive: true, force: true });
});

describe('getUserConfigDir', () => {
  it('uses YOLO_CONFIG_DIR/<subDir> first, then $XDG_CONFIG_HOME/<subDir>, then ~/.config/<subDir>', () => {
    const yolo = path.join(tmp, 'yolo');
    expect(getUserConfigDir('Ultralytics', { YOLO_CONFIG_DIR: yolo, XDG_CONFIG_HOME: path.join(tmp, 'xdg') })).toBe(
      path.join(yolo, 'Ultralytics'),
    );
    expect(existsSync(path.join(yolo, 'Ultralytics'))).toBe(true);
    expect(getUserConfigDir(sub, { XDG_CONFIG_HOME: path.join(tmp, 'xdg') })).toBe(path.join(tmp, 'xdg', sub));
    expect(configDirCandidates('Ultralytics', {})).toEqual([
      path.join(os.homedir(), '.config', 'Ultralytics'),
      '/tmp/Ultralytics',
      path.join(process.cwd(), 'Ultralytics'),
    ]);
  });

  it('falls back to /tmp/<subDir>, then <cwd>/<subDir>, when the chosen place cannot be created or written', async () => {
    const blocker = path.join(tmp, 'not-a-dir');
    await writeFile(blocker, '');
    const env = { XDG_CONFIG_HOME: blocker };
    expect(getUserConfigDir(sub, env)).toBe(path.join('/tmp', sub));
    await rm(path.join('/tmp', sub), { recursive: true });
    await writeFile(path.join('/tmp', sub), ''); // /tmp/<subDir> unusable too
    try {
      expect(getUserConfigDir(sub, env)).toBe(path.join(process.cwd(), sub));
    } finally {
      await rm(path.join('/tmp', sub), { force: true });
    }
  });

  it('is where generateDdpFile writes by default (<YOLO_CONFIG_DIR>/Ultralytics/DDP)', async () => {
    const saved = process.env.YOLO_CONFIG_DIR;
    process.env.YOLO_CONFIG_DIR = path.join(tmp, 'env');
    try {
      const trainer = { module: 'ultralytics.models.yolo.detect.train', className: 'DetectionTrainer', args: {} };
      const file = await generateDdpFile(trainer);
      expect(path.dirname(file)).toBe(path.join(tmp, 'env', 'Ultralytics', 'DDP'));
      await ddpCleanup(trainer, file);
    } finally {
      if (saved === undefined) delete process.env.YOLO_CONFIG_DIR;
      else process.env.YOLO_CONFIG_DIR = saved;
    }
  });
});
