/**
 * safetensors dtypes we read. Floats become float32, integers int32 (tfjs has no 64-bit or 16-bit types);
 * I8 only as a q8 weight beside its `_scale` (see q8.ts), which is read back as float32.
 */
export const DTYPE_SIZE = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I8: 1 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_SIZE;

export function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZE, s);
}

/** Every half's float32 value, built on first use: widening a large F16 file is then one lookup a value. */
let halfTable: Float32Array | undefined;
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = f16ToF32(h);
  }
  return halfTable;
}

/** IEEE half → float32 (exact: every f16 is representable as f32). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 → IEEE half, round to nearest even (as numpy / PyTorch). */
export function f32ToF16(f: number): number {
  scratch[0] = f;
  return f32BitsToF16(scratchBits[0] as number);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** f32ToF16 on a float32's bit pattern, so whole arrays convert through a Uint32Array view without copies. */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    const m = mant | 0x800000; // implicit leading bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++; // may carry into the exponent, which is correct
  return sign | r;
}

/** The float32 values `values` take once stored as F16 and read back (what an fp16 download gives). */
export function roundToF16(values: Float32Array): Float32Array {
  const table = halves();
  const out = new Float32Array(values.length);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = table[f32BitsToF16(bits[i] as number)] as number;
  return out;
}

/**
 * Decodes `bytes` (little-endian, as stored) into float32 or int32 values. F32/I32 that are 4-byte
 * aligned are returned as views on the same memory (no copy); everything else is converted.
 * `onInt64Overflow` is called with the index of an I64 value outside the int32 range.
 */
export function decode(
  dtype: SafetensorsDtype,
  bytes: Uint8Array,
  onInt64Overflow: (index: number, value: bigint) => never,
): Float32Array | Int32Array | Int8Array {
  const aligned = bytes.byteOffset % 4 === 0;
  switch (dtype) {
    case 'F32':
      return aligned
        ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
        : new Float32Array(bytes.slice().buffer);
    case 'I32':
      return aligned
        ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
        : new Int32Array(bytes.slice().buffer);
    case 'I8':
      return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    case 'F16':
    case 'BF16': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out = new Float32Array(bytes.byteLength / 2);
      const bits = new Uint32Array(out.buffer);
      const table = dtype === 'F16' ? halves() : undefined;
      for (let i = 0; i < out.length; i++) {
        const h = view.getUint16(2 * i, true);
        if (table) out[i] = table[h] as number;
        else bits[i] = h << 16;
      }
      return out;
    }
    case 'I64': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out = new Int32Array(bytes.byteLength / 8);
      for (let i = 0; i < out.length; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) onInt64Overflow(i, v);
        out[i] = Number(v);
      }
      return out;
    }
  }
}
