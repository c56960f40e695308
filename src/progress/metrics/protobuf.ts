// The protobuf wire format, read: enough for TensorBoard's Event, Summary and TensorProto (varints, fixed 32/64-bit,
// length-delimited fields). A generated reader would bring a runtime dependency and the .proto files for three
// messages; this is the part of the format they use (https://protobuf.dev/programming-guides/encoding/).

export class WireError extends Error {}

/** Wire types: varint, 64-bit, length-delimited, 32-bit (3 and 4, groups, are not used by these messages). */
export const Wire = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const;

/** One field as read: its number, its wire type, and its value (a number, or the bytes of a length-delimited field). */
export interface Field {
  no: number;
  wire: number;
  /** A varint's value (exact up to 2^53). */
  value: number;
  /** A fixed or length-delimited field's bytes. */
  bytes: Uint8Array;
}

/** Reads the fields of one message in order; throws WireError on a truncated or malformed message. */
export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new WireError('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return result;
    }
    throw new WireError('varint longer than 10 bytes');
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > buf.length) throw new WireError('truncated field');
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === Wire.Varint) yield { no, wire, value: varint(), bytes: new Uint8Array(0) };
    else if (wire === Wire.Fixed64) yield { no, wire, value: 0, bytes: take(8) };
    else if (wire === Wire.Bytes) yield { no, wire, value: 0, bytes: take(varint()) };
    else if (wire === Wire.Fixed32) yield { no, wire, value: 0, bytes: take(4) };
    else throw new WireError(`wire type ${wire} (groups) not supported`);
  }
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
export const float32 = (b: Uint8Array, at = 0): number => view(b).getFloat32(at, true);
export const float64 = (b: Uint8Array, at = 0): number => view(b).getFloat64(at, true);
export const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
/** A varint read as int64: values past 2^63 are negative (two's complement). */
export const int64 = (v: number): number => (v >= 2 ** 63 ? v - 2 ** 64 : v);
