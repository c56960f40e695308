import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveOptions } from 'ddprun';
import { generateDdpFile } from 'ddprun/ultralytics';

const NOBODY = 65534;
const trainer = { module: 'm', className: 'T', args: { epochs: 3 } };
const cpuTrainer = { ...trainer, args: { epochs: 3, device: 'cpu' } };
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A temp folder other users may traverse (as a home directory is), removed after the test. */
function traversable(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-ddpdir-'));
  chmodSync(dir, 0o711);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Generates the entry file into `<traversable>/config` (0755), whose DDP folder was made with mode `ddpMode`. */
async function entryFileInDdpFolder(ddpMode: number): Promise<{ ddp: string; file: string }> {
  const configDir = path.join(traversable(), 'config');
  const ddp = path.join(configDir, 'DDP');
  mkdirSync(ddp, { recursive: true });
  chmodSync(configDir, 0o755);
  chmodSync(ddp, ddpMode);
  return { ddp, file: await generateDdpFile(trainer, { configDir }) };
}

/** Runs `sh -c script file` as the user `nobody`: the other user of the attack. */
function asNobody(script: string, file: string): { status: number | null; stderr: string } {
  const run = spawnSync(
    'setpriv',
    ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'sh', '-c', script, 'sh', file],
    { encoding: 'utf8' },
  );
  return { status: run.status, stderr: run.stderr };
}

const SWAP = 'mv "$1" "$1.old" && printf "print(\\"evil\\")" > "$1"';

describe.skipIf(process.getuid?.() !== 0 && !process.env.CI)(
  'the DDP folder against another user (as root, with the user nobody)',
  () => {
    it('makes a DDP folder of ours that others may write 0700, so another user cannot swap the entry file', async () => {
      const { ddp, file } = await entryFileInDdpFolder(0o777);
      const written = readFileSync(file, 'utf8');
      expect(statSync(ddp).mode & 0o7777).toBe(0o700);
      const attack = asNobody(SWAP, file);
      expect(attack.status).not.toBe(0);
      expect(attack.stderr).toContain('Permission denied');
      expect(readFileSync(file, 'utf8')).toBe(written);
    });

    it('keeps a sticky DDP folder as it is: our file stays ours and another user cannot rename it', async () => {
      const { ddp, file } = await entryFileInDdpFolder(0o1777);
      expect(statSync(ddp).mode & 0o7777).toBe(0o1777);
      const written = readFileSync(file, 'utf8');
      expect(asNobody(SWAP, file).status).not.toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(written);
    });

    it('refuses a config folder that others may write or that another user owns, writing nothing', async () => {
      const base = traversable();
      const open = path.join(base, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      await expect(generateDdpFile(trainer, { configDir: open })).rejects.toThrow(
        `Cannot write the DDP entry file into ${JSON.stringify(path.join(open, 'DDP'))}: ${JSON.stringify(open)} is writable by others (mode 777) and not sticky, so another user could replace the entry file. Set YOLO_CONFIG_DIR (or pass \`configDir\`) to a directory you own and can write.`,
      );
      const theirs = path.join(base, 'theirs');
      mkdirSync(theirs);
      chownSync(theirs, NOBODY, NOBODY);
      await expect(generateDdpFile(trainer, { configDir: path.join(theirs, 'deeper') })).rejects.toThrow(
        `${JSON.stringify(theirs)} belongs to uid ${NOBODY}, who could replace the entry file`,
      );
      expect(existsSync(path.join(open, 'DDP'))).toBe(false);
      expect(existsSync(path.join(theirs, 'deeper'))).toBe(false);
    });
  },
);

describe.skipIf(process.getuid?.() !== 0 && !process.env.CI)(
  'YOLO_CONFIG_DIR in a folder another user could change (as root, with the user nobody)',
  () => {
    /** Runs `body` with YOLO_CONFIG_DIR set to `dir`, restoring the environment after. */
    async function withConfigEnv(dir: string, body: () => Promise<unknown>): Promise<void> {
      const before = process.env.YOLO_CONFIG_DIR;
      process.env.YOLO_CONFIG_DIR = dir;
      try {
        await body();
      } finally {
        if (before === undefined) delete process.env.YOLO_CONFIG_DIR;
        else process.env.YOLO_CONFIG_DIR = before;
      }
    }

    it('refuses a 0777 non-sticky YOLO_CONFIG_DIR before creating Ultralytics/ in it', async () => {
      const open = path.join(traversable(), 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      await withConfigEnv(open, async () => {
        await expect(generateDdpFile(trainer)).rejects.toThrow(
          `${JSON.stringify(open)} is writable by others (mode 777) and not sticky, so another user could replace the entry file`,
        );
        await expect(
          resolveOptions({ entry: { trainer: cpuTrainer }, nprocPerNode: 2, python: '/usr/bin/python3' }),
        ).resolves.toBeDefined();
      });
      expect(readdirSync(open)).toEqual([]);
    });

    it('refuses a YOLO_CONFIG_DIR that belongs to nobody before creating anything in it', async () => {
      const theirs = path.join(traversable(), 'theirs');
      mkdirSync(theirs);
      chownSync(theirs, NOBODY, NOBODY);
      await withConfigEnv(theirs, async () => {
        await expect(generateDdpFile(trainer)).rejects.toThrow(
          `${JSON.stringify(theirs)} belongs to uid ${NOBODY}, who could replace the entry file`,
        );
        await expect(
          resolveOptions({ entry: { trainer: cpuTrainer }, nprocPerNode: 2, python: '/usr/bin/python3' }),
        ).resolves.toBeDefined();
      });
      expect(readdirSync(theirs)).toEqual([]);
    });
  },
);
