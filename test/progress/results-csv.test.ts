import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultsCsvReader } from 'ddprun';
import { FIXTURES } from '../helpers/python.js';

const CSV = readFileSync(path.join(FIXTURES, 'ultralytics-8.3.186-run', 'results.csv'));

describe('ResultsCsvReader', () => {
  it('reads the 3 rows of a real results.csv with their real values', () => {
    const rows = new ResultsCsvReader().push(CSV);
    expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(rows[0]).toEqual({
      epoch: 1,
      metrics: {
        time: 1.39128,
        'train/box_loss': 0.11256,
        'train/cls_loss': 0.36357,
        'train/dfl_loss': 0.06731,
        'metrics/precision(B)': 0,
        'metrics/recall(B)': 0,
        'metrics/mAP50(B)': 0,
        'metrics/mAP50-95(B)': 0,
        'val/box_loss': 1.18077,
        'val/cls_loss': 1.99352,
        'val/dfl_loss': 0.68425,
        'lr/pg0': 5.001e-5,
        'lr/pg1': 5.001e-5,
        'lr/pg2': 5.001e-5,
      },
    });
    expect(rows[1]?.metrics['train/box_loss']).toBe(2.34229);
    expect(rows[2]?.metrics['lr/pg0']).toBe(6.23458e-5);
  });

  it('never returns a half-written last line, fed one byte at a time', () => {
    const reader = new ResultsCsvReader();
    const seen: number[] = [];
    const newlines: number[] = [];
    for (let i = 0; i < CSV.length; i++) {
      for (const row of reader.push(CSV.subarray(i, i + 1))) {
        seen.push(row.epoch);
        newlines.push(i);
        expect(Object.keys(row.metrics)).toHaveLength(14);
      }
    }
    expect(seen).toEqual([1, 2, 3]);
    // Each row came exactly when its newline did.
    const ends = [...CSV.toString('latin1').matchAll(/\n/g)].map((m) => m.index);
    expect(newlines).toEqual(ends.slice(1));
  });

  it('keeps an unterminated last line until its newline arrives', () => {
    const reader = new ResultsCsvReader();
    expect(reader.push('epoch,time,metrics/mAP50-95(B)\n1,1.5,0.4\n2,3.1,0.')).toEqual([
      { epoch: 1, metrics: { time: 1.5, 'metrics/mAP50-95(B)': 0.4 } },
    ]);
    expect(reader.push('45')).toEqual([]);
    expect(reader.push('\n')).toEqual([{ epoch: 2, metrics: { time: 3.1, 'metrics/mAP50-95(B)': 0.45 } }]);
  });

  it('reads the space-padded header of older Ultralytics versions', () => {
    const rows = new ResultsCsvReader().push(
      '                  epoch,         train/box_loss,   metrics/mAP50-95(B)\n                      1,                 1.2345,               0.12\n',
    );
    expect(rows).toEqual([{ epoch: 1, metrics: { 'train/box_loss': 1.2345, 'metrics/mAP50-95(B)': 0.12 } }]);
  });
});
