import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lastLinesPosition, type RankLogRef } from '../../src/store/rank-logs.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** A rank stream of a head and two tail segments holding `texts`. */
function stream(texts: string[]): RankLogRef {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  mkdirSync(dir, { recursive: true });
  const files = texts.map((text, i) => {
    const file = path.join(dir, i === 0 ? 'stdout.log' : `stdout.tail.${i}.log`);
    writeFileSync(file, text);
    return file;
  });
  return { attempt: 0, rank: 0, stream: 'stdout', files };
}

describe('lastLinesPosition', () => {
  it('finds where the last N lines begin, reading back across segments a small chunk at a time', () => {
    const ref = stream(['a\nb\n', 'c\nd', 'e\nf\n']);
    // The lines are a, b, c, de, f: a chunk of 2 bytes makes every newline sit at a chunk's edge somewhere.
    expect(lastLinesPosition(ref, 1, 2)).toEqual({ file: 2, offset: 2 });
    expect(lastLinesPosition(ref, 2, 2)).toEqual({ file: 1, offset: 2 });
    expect(lastLinesPosition(ref, 3, 2)).toEqual({ file: 0, offset: 4 });
    expect(lastLinesPosition(ref, 4, 2)).toEqual({ file: 0, offset: 2 });
    expect(lastLinesPosition(ref, 5, 2)).toEqual({ file: 0, offset: 0 });
    expect(lastLinesPosition(ref, 50, 2)).toEqual({ file: 0, offset: 0 });
  });

  it('counts an unterminated last line as a line', () => {
    expect(lastLinesPosition(stream(['a\nb\nc']), 1, 3)).toEqual({ file: 0, offset: 4 });
    expect(lastLinesPosition(stream(['a\nb\nc\n']), 1, 3)).toEqual({ file: 0, offset: 4 });
  });
});
