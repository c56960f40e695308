import { randomBytes } from 'node:crypto';

/** `20261202-021503-a3f9`: UTC start time to the second, then 4 random hex digits. Sorts by start time. */
export const RUN_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A new run id for a run starting at `at`; uniqueness comes from creating its folder exclusively. */
export function newRunId(at: Date = new Date()): string {
  const day = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const time = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `${day}-${time}-${randomBytes(2).toString('hex')}`;
}

export function isRunId(name: string): boolean {
  return RUN_ID_PATTERN.test(name);
}
