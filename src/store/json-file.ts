import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { FILE_MODE } from './paths.js';

/** A name no one can guess ahead (a pid and a counter could be planted as links before the write). */
function tempName(file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * Writes `value` as JSON to `file` atomically: a reader sees the old file or the new one, never half of one. The temp
 * file has an unguessable name and is a new one ('wx': never an existing name or a link); it is renamed over `file`,
 * which replaces a link there, never follows it.
 */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  const temp = tempName(file);
  try {
    writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: FILE_MODE, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** `writeJsonAtomicSync`, without blocking the event loop. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const temp = tempName(file);
  try {
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: FILE_MODE, flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
