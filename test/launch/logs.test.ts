import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../src/launch/run/launch.js';
import { LineSplitter, PROGRESS_INTERVAL_MS } from '../../src/launch/run/logs.js';
import { torchPython } from '../helpers/python.js';
import { launchFixture, runLauncher, useCleanups } from '../helpers/launch.js';

const python = (await torchPython()) ?? undefined;
const fixture = launchFixture;
const { tempDir } = useCleanups();

describe('LineSplitter', () => {
  function split(chunks: string[], times?: number[]): string[] {
    const out: string[] = [];
    let i = 0;
    const s = new LineSplitter(
      (l) => out.push(l),
      () => times?.[i] ?? 0,
    );
    for (; i < chunks.length; i++) s.push(chunks[i] as string);
    s.end();
    return out;
  }

  it('joins lines split across chunks and splits chunks holding several lines', () => {
    expect(split(['ab', 'c\nde', 'f\n\ng\r\n', 'tail'])).toEqual(['abc', 'def', '', 'g', 'tail']);
  });

  it('keeps only the last state of a carriage-return progress bar on its line', () => {
    expect(split(['\r 10%|#', '\r 50%|#####', '\r100%|##########\n', 'next\n'])).toEqual(['100%|##########', 'next']);
  });

  it(`shows an unfinished progress bar at most once per ${PROGRESS_INTERVAL_MS} ms`, () => {
    const chunks = Array.from({ length: 100 }, (_, i) => `\r${i}%`);
    const times = chunks.map((_, i) => 1000 + i * 50); // 5 s of updates, every 50 ms
    const out = split([...chunks, '\r100%\n'], [...times, 7000]);
    expect(out).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
  });
});

describe.skipIf(!python)('rank output', () => {
  it('reaches the console as whole lines, each prefixed with its rank, never two ranks within a line', () => {
    const run = runLauncher({ entry: { script: fixture('chatty.py') }, nprocPerNode: 3 });
    expect(run.status).toBe(0);
    const stdout = run.stdout.split('\n').filter((l) => l.startsWith('[rank'));
    const stderr = run.stderr.split('\n').filter((l) => l.startsWith('[rank'));
    expect(stdout).toHaveLength(3 * 2000);
    expect(stderr).toHaveLength(3 * 200);
    for (const line of stdout) expect(line).toMatch(/^\[rank([012])\]:\d+:(A{700}|B{700}|C{700})$/);
    for (const rank of [0, 1, 2]) {
      const letter = 'ABC'[rank] as string;
      const mine = stdout.filter((l) => l.startsWith(`[rank${rank}]:`));
      expect(mine.every((l) => l.endsWith(letter.repeat(700)))).toBe(true);
      expect(mine.map((l) => Number(l.split(':')[1]))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    }
  });

  it('writes per-rank logs under logDir/attempt_<k>/<rank>/ and shows only the filtered ranks', async () => {
    const dir = tempDir();
    const lines: number[] = [];
    const handle = launch({
      entry: { script: fixture('chatty.py') },
      nprocPerNode: 2,
      logDir: dir,
      localRanksFilter: [1],
      env: { LINES: '50' },
      console: false,
    });
    handle.on('line', (l) => lines.push(l.rank));
    expect((await handle.result).exitCode).toBe(0);
    for (const rank of [0, 1]) {
      const out = readFileSync(path.join(dir, 'attempt_0', String(rank), 'stdout.log'), 'utf8').split('\n');
      const err = readFileSync(path.join(dir, 'attempt_0', String(rank), 'stderr.log'), 'utf8').split('\n');
      expect(out).toHaveLength(51);
      expect(err).toHaveLength(6);
    }
    // Events carry every rank; the filter is about the console.
    expect(new Set(lines)).toEqual(new Set([0, 1]));
  });

  it('shows only the ranks in localRanksFilter on the console', () => {
    const options = {
      entry: { script: fixture('chatty.py') },
      nprocPerNode: 2,
      localRanksFilter: [1],
      env: { LINES: '20' },
    };
    const run = runLauncher(options);
    expect(run.status).toBe(0);
    const prefixes = new Set([...run.stdout.matchAll(/^\[rank(\d)\]:/gm)].map((m) => m[1]));
    expect(prefixes).toEqual(new Set(['1']));
  });
});

describe('LineSplitter.pushPrefixed', () => {
  it('gives the same lines as push(), prefixed, across chunk boundaries, CRLF and progress bars', () => {
    const chunks = ['a', 'b\nc', 'd\n\ne\r\nf', '\r 10%', '\r100%\nlast\n', 'tail'];
    const expected: string[] = [];
    const reference = new LineSplitter(
      (l) => expected.push(`[rank0]:${l}\n`),
      () => 0,
    );
    chunks.forEach((c) => reference.push(c));
    const fast = new LineSplitter(
      () => undefined,
      () => 0,
    );
    expect(chunks.map((c) => fast.pushPrefixed(c, '[rank0]:')).join('')).toBe(expected.join(''));
  });
});
