import { randomInt } from 'node:crypto';
import { lstat, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { identityState, processIdentity, type ProcessIdentity } from '../os/process-identity.js';
import { findUserConfigDir } from './config-dir.js';
import type { CheckedTrainer } from './trainer.js';

/** The launcher that wrote an entry file: enough to tell later whether it is still alive. */
export type EntryFileOwner = ProcessIdentity;

export const ENTRY_FILE_PREFIX = '_temp_';
export const OWNER_MARKER = '# ddprun-owner: ';
export const ENTRY_FILE_HEADER =
  '# Ultralytics Multi-GPU training temp file (should be automatically deleted after use)';
/** Entry files without an owner record (the Python seed's, or hand-made) are swept only when older than this. */
export const UNOWNED_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789_';

/**
 * `_temp_<8 random chars><id>.py`, the name `tempfile.NamedTemporaryFile(prefix='_temp_', suffix=f'{id}.py')` gives.
 */
export function entryFileName(id: number): string {
  let random = '';
  for (let i = 0; i < 8; i++) random += NAME_CHARS[randomInt(NAME_CHARS.length)];
  return `${ENTRY_FILE_PREFIX}${random}${id}.py`;
}

/** The default home of entry files: `<getUserConfigDir()>/DDP` (found, not created). */
export function defaultEntryDir(): string {
  return path.join(findUserConfigDir(), 'DDP');
}

/** The owner record of a process on this host (default: this one). */
export function processOwner(pid: number = process.pid): EntryFileOwner {
  return processIdentity(pid);
}

/** The entry file's text: the seed's content, with the owner record as the second line. */
export function entryFileContent(checked: CheckedTrainer, owner: EntryFileOwner): string {
  return `${ENTRY_FILE_HEADER}
${OWNER_MARKER}${JSON.stringify(owner)}
overrides = ${checked.overridesSource}

if __name__ == "__main__":
    from ${checked.module} import ${checked.className}
    from ultralytics.utils import DEFAULT_CFG_DICT

    cfg = DEFAULT_CFG_DICT.copy()
    cfg.update(save_dir='')   # handle the extra key 'save_dir'
    trainer = ${checked.className}(cfg=cfg, overrides=overrides)
    trainer.args.model = ${checked.modelSource}
    results = trainer.train()
`;
}

/** Reads the owner record from the first lines of an entry file; null when there is none or it is malformed. */
export function parseOwnerRecord(head: string): EntryFileOwner | null {
  const line = head
    .split('\n')
    .slice(0, 3)
    .find((l) => l.startsWith(OWNER_MARKER));
  if (!line) return null;
  try {
    const raw = JSON.parse(line.slice(OWNER_MARKER.length)) as Partial<EntryFileOwner>;
    if (!Number.isSafeInteger(raw.pid) || (raw.pid as number) <= 0 || typeof raw.host !== 'string') return null;
    return {
      pid: raw.pid as number,
      start: typeof raw.start === 'number' ? raw.start : null,
      boot: typeof raw.boot === 'string' ? raw.boot : null,
      host: raw.host,
    };
  } catch {
    return null;
  }
}

/** 'alive', 'dead', or 'unknown' (another host: its processes cannot be seen from here). */
export function ownerState(owner: EntryFileOwner): 'alive' | 'dead' | 'unknown' {
  return identityState(owner);
}

async function readHead(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Removes the `_temp_*.py` entry files that a launcher killed with SIGKILL left behind in `dir`
 * (default `<getUserConfigDir()>/DDP`): those whose owner process is gone (or whose pid was reused).
 * Files of live launchers and of other hosts are kept; files without an owner record only go when
 * older than 24 hours. Returns the removed paths (with `dryRun`: removes nothing, returns what it would remove).
 */
export async function sweepStaleEntryFiles(dir?: string, options: { dryRun?: boolean } = {}): Promise<string[]> {
  const entryDir = dir ?? defaultEntryDir();
  let names: string[];
  try {
    names = await readdir(entryDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(ENTRY_FILE_PREFIX) || !name.endsWith('.py')) continue;
    const file = path.join(entryDir, name);
    try {
      const stats = await lstat(file);
      if (!stats.isFile()) continue;
      const owner = parseOwnerRecord(await readHead(file));
      const stale = owner ? ownerState(owner) === 'dead' : Date.now() - stats.mtimeMs > UNOWNED_MAX_AGE_MS;
      if (!stale) continue;
      if (!options.dryRun) await rm(file, { force: true });
      removed.push(file);
    } catch (error) {
      // Another sweeper or the owner removed it first: nothing left to do.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
