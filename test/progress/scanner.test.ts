import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BarUpdate } from '../../src/progress/bar.js';
import { ProgressScanner } from '../../src/progress/scanner.js';
import { FIXTURES } from '../helpers/python.js';

const LOG = readFileSync(path.join(FIXTURES, 'ultralytics-8.3.186-run', 'rank0-stdout.txt'), 'utf8');

/** Cuts `text` into pieces of 1–`max` characters, the same way for the same seed. */
function chunks(text: string, seed: number, max: number): string[] {
  const out: string[] = [];
  let state = seed;
  for (let i = 0; i < text.length;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (state % max);
    out.push(text.slice(i, i + size));
    i += size;
  }
  return out;
}

function scan(pieces: readonly string[], minIntervalMs = 0) {
  const updates: BarUpdate[] = [];
  const folders: string[] = [];
  const scanner = new ProgressScanner({
    onProgress: (u) => updates.push(u),
    onRunFolder: (dir) => folders.push(dir),
    minIntervalMs,
  });
  for (const piece of pieces) scanner.push(piece);
  scanner.flush();
  return { updates, folders };
}

afterEach(() => vi.useRealTimers());

describe('ProgressScanner', () => {
  it('finds every distinct bar state and the run folder in the real bytes, however the stream is cut', () => {
    const whole = scan([LOG]);
    expect(whole.folders).toEqual(['/home/user/yolo/runs/e3']);
    // One chunk: only its newest bar counts (the validation of best.pt at the end).
    expect(whole.updates.map((u) => [u.desc.split(/\s+/)[0], u.n, u.total, u.rate])).toEqual([['Class', 1, 1, 5.5]]);
    // One write a chunk (how a pipe usually delivers `\r\033[K…` updates): every state once, repeats dropped.
    const writes = LOG.split(/(?=\r)/);
    const expected = scan(writes).updates.map((u) => `${u.desc.split(/\s+/)[0]} ${u.n}/${u.total} ${u.rate}`);
    expect(expected).toEqual([
      'train: 16/16 5162220.3',
      'train: 16/16 159025.7',
      'val: 8/8 2796202.7',
      'val: 8/8 10189.6',
      '1/3 0/4 undefined',
      '1/3 1/4 1.8',
      '1/3 2/4 3.5',
      '1/3 3/4 4.6',
      '1/3 4/4 5.7',
      'Class 1/1 1.5',
      '2/3 1/4 2.5',
      '2/3 3/4 6.5',
      '2/3 4/4 16.2',
      'Class 1/1 26.2',
      'Class 1/1 26.1',
      '3/3 1/4 1.8',
      '3/3 3/4 3.7',
      '3/3 4/4 9.8',
      'Class 1/1 18.9',
      'Class 1/1 5.5',
    ]);
    // Cut anywhere (a bar split over two reads): never a wrong or half state, the folder exactly once.
    for (const seed of [1, 2, 3, 4, 5]) {
      const cut = scan(chunks(LOG, seed, 40));
      expect(cut.folders).toEqual(['/home/user/yolo/runs/e3']);
      for (const u of cut.updates) expect(expected).toContain(`${u.desc.split(/\s+/)[0]} ${u.n}/${u.total} ${u.rate}`);
    }
  });

  it('sends at most one update per 500 ms, then the newest state when the window ends', () => {
    vi.useFakeTimers();
    const updates: number[] = [];
    const scanner = new ProgressScanner({ onProgress: (u) => updates.push(u.n) });
    const bar = (n: number) => `\r${String(n).padStart(3)}%|${'#'.repeat(n / 10)}| ${n}/100 [00:01<00:01, 50.00it/s]`;
    for (let n = 10; n <= 50; n += 10) scanner.push(bar(n));
    expect(updates).toEqual([10]);
    vi.advanceTimersByTime(499);
    expect(updates).toEqual([10]);
    vi.advanceTimersByTime(1);
    expect(updates).toEqual([10, 50]);
    scanner.push(bar(60));
    expect(updates).toEqual([10, 50]);
    scanner.flush(); // the stream ended: the held-back state is sent
    expect(updates).toEqual([10, 50, 60]);
    vi.advanceTimersByTime(1000);
    expect(updates).toEqual([10, 50, 60]);
  });

  it('does not take lines that only look like bars for one', () => {
    const { updates, folders } = scan([
      'loading 50% done\n',
      'accuracy: 97%| best so far\n',
      'Logging results to nowhere',
      ' (not finished)\n',
      '\r50% ━━━ halfway',
      '\n',
    ]);
    expect(updates).toEqual([]);
    expect(folders).toEqual(['nowhere (not finished)']);
  });

  it('reads `Logging results to` split over two chunks, and only once', () => {
    const { folders } = scan([
      'Logging res',
      'ults to \u001b[1mruns/detect/tr',
      'ain3\u001b[0m\nLogging results to x\n',
    ]);
    expect(folders).toEqual(['runs/detect/train3']);
  });
});
