import { describe, expect, it } from 'vitest';
import { crc32c, maskedCrc32c } from '../../../src/progress/metrics/crc32c.js';
import { TfEventsReader, TfRecordError, decodeEvent } from '../../../src/progress/metrics/tfevents.js';
import { record, scalarEvent, versionEvent } from './tf-writer.js';

describe('TensorBoard event files', () => {
  it('computes CRC-32C as the standard check value says (crc32c("123456789") = 0xE3069283)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    // TFRecord's mask: rotate right 15 bits, add 0xa282ead8.
    const crc = crc32c(Buffer.from('abc'));
    expect(maskedCrc32c(Buffer.from('abc'))).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  });

  it('reads the scalars of every record, with step and wall time, a record split across reads included', () => {
    const file = Buffer.concat([
      record(versionEvent(1700000000)),
      record(scalarEvent('train/loss', 0.5, 10, 1700000001.5)),
      record(scalarEvent('train/loss', 0.25, 20, 1700000002.5)),
      record(scalarEvent('val/acc', 0.75, 20, 1700000003, true)),
    ]);
    const reader = new TfEventsReader();
    const got = [];
    // Byte by byte for the first records, then the rest: every split point of the framing is crossed.
    for (let i = 0; i < 60; i++) got.push(...reader.push(file.subarray(i, i + 1)));
    got.push(...reader.push(file.subarray(60)));
    expect(got).toEqual([
      { tag: 'train/loss', value: 0.5, step: 10, wallTime: 1700000001.5 },
      { tag: 'train/loss', value: 0.25, step: 20, wallTime: 1700000002.5 },
      { tag: 'val/acc', value: 0.75, step: 20, wallTime: 1700000003 },
    ]);
  });

  it('skips a record whose data fails its CRC and reads on', () => {
    const bad = record(scalarEvent('loss', 1, 1, 1));
    bad[20] = bad[20]! ^ 0xff; // a byte of the data
    const reader = new TfEventsReader();
    expect(reader.push(Buffer.concat([bad, record(scalarEvent('loss', 2, 2, 2))]))).toEqual([
      { tag: 'loss', value: 2, step: 2, wallTime: 2 },
    ]);
    expect(reader.badRecords).toBe(1);
  });

  it('refuses a file whose first length fails its CRC (not an event file)', () => {
    expect(() => new TfEventsReader().push(Buffer.from('epoch,step,loss\n0,1,0.5\n'))).toThrow(TfRecordError);
  });

  it('gives no scalar for a malformed Event message', () => {
    expect(decodeEvent(Buffer.from([0x2a, 0x10, 0x01]))).toEqual([]); // summary field longer than the message
  });
});
