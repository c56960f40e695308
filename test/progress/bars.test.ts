import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../src/launch/run/launch.js';
import type { ProgressEvent } from '../../src/model/types.js';
import { PROGRESS_MIN_INTERVAL_MS } from '../../src/progress/scanner.js';
import { FIXTURES, torchPython } from '../helpers/python.js';

const python = (await torchPython()) ?? undefined;
const SCRIPT = path.join(FIXTURES, 'tqdm_loop.py');

async function run(args: string[]) {
  const handle = launch({ entry: { script: SCRIPT, args }, nprocPerNode: 2, python, console: false });
  const progress: { at: number; e: ProgressEvent }[] = [];
  const lines: string[] = [];
  handle.on('progress', (e) => progress.push({ at: Date.now(), e }));
  handle.on('line', (l) => lines.push(`${l.rank}:${l.text}`));
  const result = await handle.result;
  expect(result.exitCode, lines.join('\n')).toBe(0);
  expect(lines).toContain('0:all_reduce 2.0');
  return progress;
}

describe.skipIf(!python)('progress events from any script', () => {
  it('turns a real tqdm loop on rank 0 into progress events, at most 2 a second, and ignores rank 1', async () => {
    const progress = await run([]);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const { e } of progress) {
      expect(e).toMatchObject({ rank: 0, stream: 'stderr', format: 'tqdm', desc: 'rank 0', total: 40, unit: 'it' });
    }
    const ns = progress.map(({ e }) => e.n);
    expect([...ns].sort((a, b) => a - b)).toEqual(ns);
    expect(ns.at(-1)).toBe(40);
    expect(progress.at(-1)?.e.remaining).toBe(0);
    // Throttled: consecutive events 500 ms apart (the last may be the final state sent when the stream ends). The
    // listener reads the clock a moment after the scanner did (same call stack): a few ms of slack, never more.
    const gaps = progress.slice(1, -1).map(({ at }, i) => at - (progress[i] as { at: number }).at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(PROGRESS_MIN_INTERVAL_MS - 20);
  });

  it('does not mistake lines that merely look like bars for progress', async () => {
    expect(await run(['lookalike'])).toEqual([]);
  });
});
