import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDdpFile } from '../../src/ultralytics/dist.js';
import {
  ENTRY_FILE_HEADER,
  OWNER_MARKER,
  processOwner,
  sweepStaleEntryFiles,
  type EntryFileOwner,
} from '../../src/ultralytics/entry-file.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ddprun-sweep-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function entryFile(dir: string, name: string, owner: Partial<EntryFileOwner> | null): Promise<string> {
  const file = path.join(dir, name);
  const record = owner === null ? '' : `${OWNER_MARKER}${JSON.stringify({ ...processOwner(), ...owner })}\n`;
  await writeFile(file, `${ENTRY_FILE_HEADER}\n${record}overrides = {}\n`, { mode: 0o600 });
  return file;
}

function exited(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}

describe('sweepStaleEntryFiles', () => {
  it('removes the file of a launcher killed with SIGKILL, and only once it is dead', async () => {
    const dir = path.join(tmp, 'killed');
    await mkdir(dir);
    const launcher = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((resolve, reject) => launcher.once('spawn', resolve).once('error', reject));
      const file = await entryFile(dir, '_temp_abcdefgh100000000000001.py', processOwner(launcher.pid));
      expect(await sweepStaleEntryFiles(dir)).toEqual([]);
      launcher.kill('SIGKILL');
      await exited(launcher);
      expect(await sweepStaleEntryFiles(dir)).toEqual([file]);
      expect(existsSync(file)).toBe(false);
    } finally {
      launcher.kill('SIGKILL');
    }
  });

  it('keeps live and foreign files, removes reused pids, other boots and old unowned files', async () => {
    const dir = path.join(tmp, 'mixed');
    await mkdir(dir);
    const live = await generateDdpFile(
      { module: 'm', className: 'C', args: {} },
      { configDir: path.join(tmp, 'mixed-config') },
    );
    const liveHere = await entryFile(dir, '_temp_live____100000000000002.py', {});
    const otherHost = await entryFile(dir, '_temp_host____100000000000003.py', {
      pid: 999_999_999,
      host: `not-${os.hostname()}`,
    });
    const reused = await entryFile(dir, '_temp_reused__100000000000004.py', { start: (processOwner().start ?? 0) + 1 });
    const otherBoot = await entryFile(dir, '_temp_boot____100000000000005.py', { boot: 'another-boot' });
    const youngUnowned = await entryFile(dir, '_temp_young___100000000000006.py', null);
    const oldUnowned = await entryFile(dir, '_temp_old_____100000000000007.py', null);
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    await utimes(oldUnowned, twoDaysAgo, twoDaysAgo);
    const notOurs = await entryFile(dir, 'train.py', { pid: 999_999_999 });
    await symlink(notOurs, path.join(dir, '_temp_link____100000000000008.py'));

    const removed = await sweepStaleEntryFiles(dir);
    const expectedRemoved = [reused, oldUnowned];
    if (processOwner().boot !== null) expectedRemoved.push(otherBoot);
    expect(removed.sort()).toEqual(expectedRemoved.sort());
    expect((await readdir(dir)).sort()).toEqual(
      [
        '_temp_link____100000000000008.py',
        'train.py',
        ...[liveHere, otherHost, youngUnowned, otherBoot].filter(existsSync).map((f) => path.basename(f)),
      ].sort(),
    );
    expect(await sweepStaleEntryFiles(path.dirname(live))).toEqual([]);
    expect(existsSync(live)).toBe(true);
  });

  it('returns nothing for a missing directory', async () => {
    expect(await sweepStaleEntryFiles(path.join(tmp, 'missing'))).toEqual([]);
  });
});
