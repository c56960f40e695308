import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FILE_MODE } from './paths.js';

// A full state disk must not turn a finished run into a `lost` one (#22 item 6): its final run.json is the one write
// that says how it ended. Each run folder holds, while the run runs, a file of RESERVE_BYTES that is removed to make
// room for that write when the disk filled up meanwhile (and removed in any case at the end).

export const RESERVE_FILE = '.final-record-reserve';
/** Room for the final record many times over (a record is a few KiB; the outcome alone well under one). */
export const RESERVE_BYTES = 256 * 1024;

/** Claims the room in `dir`; false (and nothing left) when the disk has none even now. */
export function reserveRoom(dir: string): boolean {
  const file = path.join(dir, RESERVE_FILE);
  try {
    // Random bytes: a compressing or deduplicating file system stores zeros in nothing.
    writeFileSync(file, randomBytes(RESERVE_BYTES), { mode: FILE_MODE, flag: 'wx' });
    return true;
  } catch {
    rmSync(file, { force: true });
    return false;
  }
}

export function releaseRoom(dir: string): void {
  rmSync(path.join(dir, RESERVE_FILE), { force: true });
}

export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
