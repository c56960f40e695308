import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CappedLog } from '../../src/store/capped-log.js';
import { listRankLogs, readRankLog } from '../../src/store/rank-logs.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('CappedLog', () => {
  it('writes byte for byte under the cap', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, 'logs', 'attempt_0', '0', 'stdout.log');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(file), { recursive: true });
    const log = new CappedLog(file, 1 << 20, () => {});
    const parts = ['héllo', '\r50%', '\r100%\n', 'no newline'];
    for (const p of parts) log.write(p);
    await log.end();
    expect(readRankLog(listRankLogs(dir)[0]!)).toBe(parts.join(''));
  });

  it('past the cap, keeps the head, a marker and the most recent quarter to half, across many small writes', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const folder = path.join(dir, 'logs', 'attempt_0', '3');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder, { recursive: true });
    const errors: Error[] = [];
    const log = new CappedLog(path.join(folder, 'stderr.log'), 8192, (e) => errors.push(e));
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${String(i).padStart(5, '0')}\n`);
    for (const line of lines) log.write(line);
    await log.end();
    expect(errors).toEqual([]);
    // The head file and at most two tail segments remain.
    // 55,000 bytes: 4,096 in the head, the rest through 2,048-byte segments 0…24, of which 23 and 24 remain.
    expect(readdirSync(folder).sort()).toEqual(['stderr.log', 'stderr.tail.23.log', 'stderr.tail.24.log']);
    const text = readRankLog(listRankLogs(dir)[0]!);
    const all = lines.join('');
    expect(text.slice(0, 4096)).toBe(all.slice(0, 4096));
    expect(text.slice(4096)).toMatch(/^\n\[ddprun: stderr\.log passed the store's cap of 0\.01 MiB/);
    const tail = text.slice(text.indexOf(']\n', 4096) + 2);
    expect(all.endsWith(tail)).toBe(true);
    expect(tail.length).toBeGreaterThanOrEqual(2048);
    expect(tail.length).toBeLessThanOrEqual(4096);
    const bytes = readdirSync(folder).reduce((sum, f) => sum + statSync(path.join(folder, f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(8192 + 400);
  });
});
