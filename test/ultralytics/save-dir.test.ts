import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsafePathError } from 'ddprun';
import { ddpCleanup, type DdpTrainer, generateDdpCommand, removeSaveDir } from 'ddprun/ultralytics';
import { writeStandInPython } from '../helpers/python.js';

let tmp: string;
let python: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ddprun-savedir-'));
  python = await writeStandInPython(path.join(tmp, 'bin', 'python'), { torch: '2.4.0', pythonVersion: [3, 12] });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const trainer = (saveDir: string, resume = false): DdpTrainer => ({
  module: 'ultralytics.models.yolo.detect.train',
  className: 'DetectionTrainer',
  args: {},
  saveDir,
  resume,
});

describe('the saveDir removal of generateDdpCommand', () => {
  it('removes saveDir recursively unless resuming, and a missing saveDir is not an error', async () => {
    const configDir = path.join(tmp, 'config');
    const saveDir = path.join(tmp, 'runs', 'train');
    await mkdir(path.join(saveDir, 'weights'), { recursive: true });
    await writeFile(path.join(saveDir, 'weights', 'last.pt'), 'x');

    const resumed = trainer(saveDir, true);
    const [, kept] = await generateDdpCommand(2, resumed, { python, configDir });
    expect(existsSync(path.join(saveDir, 'weights', 'last.pt'))).toBe(true);
    await ddpCleanup(resumed, kept);

    const fresh = trainer(saveDir);
    const [, file] = await generateDdpCommand(2, fresh, { python, configDir });
    expect(existsSync(saveDir)).toBe(false);
    await ddpCleanup(fresh, file);

    const [, again] = await generateDdpCommand(2, fresh, { python, configDir });
    await ddpCleanup(fresh, again);
  });

  it('refuses /, home, the current directory and its ancestors, the config dir, links and files, before any effect', async () => {
    const configDir = path.join(tmp, 'protected-config');
    await mkdir(configDir, { recursive: true });
    // A link to the parent of cwd: `<link>/<name of cwd>` is the current directory by another name.
    const parentLink = path.join(tmp, 'parent-link');
    await symlink(path.dirname(process.cwd()), parentLink);
    const cwdByLink = path.join(parentLink, path.basename(process.cwd()));
    const dirLink = path.join(tmp, 'dir-link');
    await mkdir(path.join(tmp, 'real-dir'));
    await symlink(path.join(tmp, 'real-dir'), dirLink);
    const file = path.join(tmp, 'plain-file');
    await writeFile(file, 'keep me');
    const home = os.homedir();
    const homeReason = process.cwd().startsWith(`${home}/`)
      ? 'it contains the current directory'
      : 'it is the home directory';
    const cases: [string, string][] = [
      ['/', 'it is the root directory'],
      [home, homeReason],
      [process.cwd(), 'it is the current directory'],
      [path.dirname(process.cwd()), 'it contains the current directory'],
      [cwdByLink, 'it is the current directory'],
      [configDir, `it is the config directory ${JSON.stringify(configDir)}`],
      [tmp, `it contains the config directory ${JSON.stringify(configDir)}`],
      [dirLink, 'it is a symbolic link'],
      [file, 'it is not a directory'],
    ];
    for (const [saveDir, reason] of cases) {
      const attempt = generateDdpCommand(2, trainer(saveDir), { python, configDir });
      await expect(attempt, saveDir).rejects.toThrow(
        `Refusing to remove the save_dir ${JSON.stringify(saveDir)}: ${reason}.`,
      );
      await expect(attempt).rejects.toBeInstanceOf(UnsafePathError);
    }
    expect(existsSync(path.join(configDir, 'DDP'))).toBe(false);
    expect(existsSync(file) && existsSync(path.join(tmp, 'real-dir')) && existsSync(cwdByLink)).toBe(true);
  });

  it('removeSaveDir reports whether it removed anything', async () => {
    const dir = path.join(tmp, 'to-remove');
    await mkdir(dir);
    expect(await removeSaveDir(dir)).toBe(true);
    expect(await removeSaveDir(dir)).toBe(false);
  });
});
