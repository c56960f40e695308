// A TensorBoard event file writer for the tests, written from the documented format (not from the reader): TFRecord
// framing (u64 length, masked CRC-32C of it, data, masked CRC-32C of the data) around protobuf `Event` messages.
import { crc32c } from '../../../src/progress/metrics/crc32c.js';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (no: number, wire: number): number[] => varint(no * 8 + wire);
const bytesField = (no: number, body: number[]): number[] => [...key(no, 2), ...varint(body.length), ...body];
const f32 = (v: number): number[] => [...new Uint8Array(new Float32Array([v]).buffer)];
const f64 = (v: number): number[] => [...new Uint8Array(new Float64Array([v]).buffer)];

/** `Event { wall_time = 1; step = 2; summary = 5 { value = 1 { tag = 1; simple_value = 2 } } }`. */
export function scalarEvent(tag: string, value: number, step: number, wallTime: number, asTensor = false): Buffer {
  const tagBytes = [...Buffer.from(tag, 'utf8')];
  const payload = asTensor
    ? // tensor = 8: TensorProto { dtype = 1 (DT_FLOAT = 1), tensor_shape = 2 {}, float_val = 5 (packed) }
      bytesField(8, [...key(1, 0), 1, ...bytesField(2, []), ...bytesField(5, f32(value))])
    : [...key(2, 5), ...f32(value)];
  const summaryValue = bytesField(1, [...bytesField(1, tagBytes), ...payload]);
  return Buffer.from([...key(1, 1), ...f64(wallTime), ...key(2, 0), ...varint(step), ...bytesField(5, summaryValue)]);
}

/** The first event of every file: `file_version = 3: "brain.Event:2"`. */
export function versionEvent(wallTime: number): Buffer {
  return Buffer.from([...key(1, 1), ...f64(wallTime), ...bytesField(3, [...Buffer.from('brain.Event:2')])]);
}

function masked(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord around `data`. */
export function record(data: Buffer): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(masked(len));
  const foot = Buffer.alloc(4);
  foot.writeUInt32LE(masked(data));
  return Buffer.concat([len, head, data, foot]);
}
