/**
 * A minimal protobuf *writer*: just the wire types ONNX needs (varint, 32-bit, length-delimited).
 * Large payloads (weights) are kept by reference as separate chunks, so a 400 MB model is copied once,
 * when the chunks are finally joined or streamed to disk.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export class ProtoWriter {
  /** The encoded message as a list of byte chunks (in order). */
  readonly chunks: Uint8Array[] = [];
  /** Total encoded length in bytes. */
  length = 0;

  private push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    this.push(encodeVarint(BigInt(field) * 8n + BigInt(wire)));
  }

  /** int32 / int64 / enum / bool. Negative values take 10 bytes (two's complement), as protobuf specifies. */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.push(encodeVarint(typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value)));
    return this;
  }

  /** proto `float` (wire type 5, little-endian IEEE-754 single). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** bytes; the array is kept by reference, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.push(encodeVarint(BigInt(value.length)));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message. */
  message(field: number, child: ProtoWriter): this {
    this.tag(field, WIRE_LEN);
    this.push(encodeVarint(BigInt(child.length)));
    for (const c of child.chunks) this.push(c);
    return this;
  }

  /** A packed repeated varint field (proto3 default for repeated scalars). */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.push(encodeVarint(BigInt(v)));
    this.tag(field, WIRE_LEN);
    this.push(encodeVarint(BigInt(inner.length)));
    for (const c of inner.chunks) this.push(c);
    return this;
  }

  /** Joins the chunks into one buffer. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

/** Base-128 varint; negative numbers as their 64-bit two's complement (10 bytes). */
export function encodeVarint(value: bigint): Uint8Array {
  let v = value < 0n ? BigInt.asUintN(64, value) : value;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}
