import { describe, expect, it } from 'vitest';
import { MetricsCsvReader, csvCells } from '../../../src/progress/metrics/csv.js';

describe("Lightning's metrics.csv", () => {
  it('reads sparse rows (each logging call fills its own columns) with their step and epoch', () => {
    const reader = new MetricsCsvReader();
    const rows = reader.push(Buffer.from('epoch,step,train_loss,val_loss\n0,49,0.61,\n0,49,,0.58\n1,99,0.4'));
    expect(rows).toEqual([
      [{ name: 'train_loss', value: 0.61, step: 49, epoch: 0 }],
      [{ name: 'val_loss', value: 0.58, step: 49, epoch: 0 }],
    ]);
    expect(reader.push(Buffer.from('2,\n'))).toEqual([[{ name: 'train_loss', value: 0.42, step: 99, epoch: 1 }]]);
  });

  it('splits quoted cells as RFC 4180 does', () => {
    expect(csvCells('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', '']);
  });

  it('skips the rows already read when the file is read again after a rewrite', () => {
    const reader = new MetricsCsvReader(1);
    expect(reader.push(Buffer.from('step,a,b\n1,0.5,\n2,0.25,0.125\n'))).toEqual([
      [
        { name: 'a', value: 0.25, step: 2 },
        { name: 'b', value: 0.125, step: 2 },
      ],
    ]);
  });
});
