import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { FILE_MODE } from './paths.js';

let counter = 0;

function tempName(file: string): string {
  counter += 1;
  return `${file}.${process.pid}.${counter}.tmp`;
}

/** Writes `value` as JSON to `file` atomically: a reader sees the old file or the new one, never half of one. */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  const temp = tempName(file);
  try {
    writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: FILE_MODE });
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
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: FILE_MODE });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
