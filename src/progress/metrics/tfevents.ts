import { maskedCrc32c } from './crc32c.js';
import { Wire, WireError, fields, float32, float64, int64, utf8 } from './protobuf.js';

// TensorBoard event files (`events.out.tfevents.*`, written by torch's SummaryWriter, tensorboardX, TensorFlow and
// Lightning's TensorBoardLogger), read without TensorFlow. A file is a sequence of TFRecords:
//   u64 length (little-endian) · u32 masked CRC-32C of those 8 bytes · `length` bytes of data · u32 masked CRC-32C of
//   the data
// and each record's data is a protobuf `Event` (tensorflow/core/util/event.proto): wall_time = 1 (double),
// step = 2 (int64), summary = 5 (Summary: repeated Value value = 1; Value: tag = 1, simple_value = 2 (float),
// tensor = 8 (TensorProto: dtype = 1, tensor_shape = 2, tensor_content = 4, float_val = 5, double_val = 6)).

/** One scalar of an event file. */
export interface TfScalar {
  tag: string;
  value: number;
  step: number;
  /** Seconds since the Unix epoch, as the writer stamped the event. */
  wallTime: number;
}

const HEADER = 12;
const FOOTER = 4;
/** A record larger than this is not a scalar summary (images, graphs): skipped without being kept in memory. */
export const MAX_RECORD = 16 * 1024 * 1024;
const DT_FLOAT = 1;
const DT_DOUBLE = 2;

export class TfRecordError extends Error {}

/**
 * Reads an event file as it grows: `push` takes the bytes appended since the last call and returns the scalars of
 * the records now complete. A record whose length fails its CRC means the file is not what it should be: push throws
 * TfRecordError (the caller stops reading that file). A record whose data fails its CRC is skipped.
 */
export class TfEventsReader {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of an oversized record still to skip. */
  private skip = 0;
  /** Records whose data failed its CRC (skipped). */
  badRecords = 0;

  push(bytes: Buffer): TfScalar[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, bytes]) : bytes;
    if (this.skip > 0) {
      const n = Math.min(this.skip, buf.length);
      this.skip -= n;
      buf = buf.subarray(n);
    }
    const out: TfScalar[] = [];
    let pos = 0;
    while (buf.length - pos >= HEADER) {
      const head = buf.subarray(pos, pos + 8);
      if (buf.readUInt32LE(pos + 8) !== maskedCrc32c(head))
        throw new TfRecordError(`bad length CRC at record offset ${pos}`);
      const length = Number(buf.readBigUInt64LE(pos));
      if (length > MAX_RECORD) {
        const rest = buf.length - pos - HEADER;
        this.skip = Math.max(0, length + FOOTER - rest);
        pos = Math.min(buf.length, pos + HEADER + length + FOOTER);
        continue;
      }
      if (buf.length - pos < HEADER + length + FOOTER) break;
      const data = buf.subarray(pos + HEADER, pos + HEADER + length);
      const crc = buf.readUInt32LE(pos + HEADER + length);
      pos += HEADER + length + FOOTER;
      if (crc !== maskedCrc32c(data)) {
        this.badRecords++;
        continue;
      }
      out.push(...decodeEvent(data));
    }
    this.pending = Buffer.from(buf.subarray(pos));
    return out;
  }
}

/** The scalars of one `Event` message (none for a file_version, graph or histogram event, or a malformed one). */
export function decodeEvent(data: Uint8Array): TfScalar[] {
  try {
    let wallTime = 0;
    let step = 0;
    const values: { tag: string; value: number }[] = [];
    for (const f of fields(data)) {
      if (f.no === 1 && f.wire === Wire.Fixed64) wallTime = float64(f.bytes);
      else if (f.no === 2 && f.wire === Wire.Varint) step = int64(f.value);
      else if (f.no === 5 && f.wire === Wire.Bytes) values.push(...summaryValues(f.bytes));
    }
    return values.map((v) => ({ ...v, step, wallTime }));
  } catch (error) {
    if (error instanceof WireError) return [];
    throw error;
  }
}

function summaryValues(summary: Uint8Array): { tag: string; value: number }[] {
  const out: { tag: string; value: number }[] = [];
  for (const f of fields(summary)) {
    if (f.no !== 1 || f.wire !== Wire.Bytes) continue;
    let tag: string | undefined;
    let value: number | undefined;
    for (const v of fields(f.bytes)) {
      if (v.no === 1 && v.wire === Wire.Bytes) tag = utf8(v.bytes);
      else if (v.no === 2 && v.wire === Wire.Fixed32) value = float32(v.bytes);
      else if (v.no === 8 && v.wire === Wire.Bytes) value = tensorScalar(v.bytes);
    }
    if (tag !== undefined && value !== undefined) out.push({ tag, value });
  }
  return out;
}

/** The value of a one-element float or double tensor (TF2's scalar summaries, `new_style` in torch); else undefined. */
function tensorScalar(tensor: Uint8Array): number | undefined {
  let dtype = 0;
  const values: number[] = [];
  let content: Uint8Array | undefined;
  let dims = 1;
  for (const f of fields(tensor)) {
    if (f.no === 1 && f.wire === Wire.Varint) dtype = f.value;
    else if (f.no === 2 && f.wire === Wire.Bytes) dims = shapeSize(f.bytes);
    else if (f.no === 4 && f.wire === Wire.Bytes) content = f.bytes;
    else if (f.no === 5 && f.wire === Wire.Fixed32) values.push(float32(f.bytes));
    else if (f.no === 5 && f.wire === Wire.Bytes)
      for (let i = 0; i + 4 <= f.bytes.length; i += 4) values.push(float32(f.bytes, i));
    else if (f.no === 6 && f.wire === Wire.Fixed64) values.push(float64(f.bytes));
    else if (f.no === 6 && f.wire === Wire.Bytes)
      for (let i = 0; i + 8 <= f.bytes.length; i += 8) values.push(float64(f.bytes, i));
  }
  if (dims !== 1) return undefined;
  if (dtype === DT_FLOAT && content?.length === 4) return float32(content);
  if (dtype === DT_DOUBLE && content?.length === 8) return float64(content);
  return (dtype === DT_FLOAT || dtype === DT_DOUBLE) && values.length === 1 ? values[0] : undefined;
}

/** Elements of a TensorShapeProto (dim = 2, each with size = 1): 1 for a scalar. */
function shapeSize(shape: Uint8Array): number {
  let n = 1;
  for (const f of fields(shape)) {
    if (f.no !== 2 || f.wire !== Wire.Bytes) continue;
    let size = 0;
    for (const d of fields(f.bytes)) if (d.no === 1 && d.wire === Wire.Varint) size = int64(d.value);
    n *= size;
  }
  return n;
}
