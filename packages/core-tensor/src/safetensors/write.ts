import type * as tf from '@tensorflow/tfjs-core';
import { atomicWriteFile } from '../io/atomic-write.js';
import { f32BitsToF16 } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { isQ8Weight, q8Of, q8ScaleShape, SCALE_SUFFIX } from './q8.js';

export interface WriteSafetensorsOptions {
  /** Storage type for float32 tensors: F32 (default, exact) or F16 (half the size, rounded). */
  floatDtype?: 'F32' | 'F16';
  /**
   * q8: every matrix weight (`….weight` of rank ≥ 2: Linear, Conv2d, Embedding) as I8 with one float32 scale
   * per row in `….weight_scale` (see q8.ts); the other float tensors at `floatDtype`.
   */
  q8?: boolean;
}

type Tensors = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

/** One entry of the file: its header fields, and how to produce its bytes when their turn comes. */
interface Planned {
  name: string;
  dtype: 'F32' | 'F16' | 'I32' | 'I8';
  shape: number[];
  bytes: number;
  data: () => Promise<Uint8Array>;
}

/** Bytes `writeSafetensors` stores for a tensor with these options (int32 and float32 alike in 4 bytes). */
export function storedBytes(name: string, t: tf.Tensor, opts: WriteSafetensorsOptions = {}): number {
  if (t.dtype !== 'float32') return 4 * t.size;
  if (opts.q8 && isQ8Weight(name, t.shape)) return t.size + 4 * (t.shape[0] as number);
  return (opts.floatDtype === 'F16' ? 2 : 4) * t.size;
}

/**
 * Serialises tensors as safetensors chunks: the header (names sorted, offsets packed, `__metadata__`
 * last, padded with spaces to a multiple of 8 bytes) then each tensor's bytes, read one at a time
 * with `await t.data()` (so it works on GPU backends). `format: "pt"` is added to the metadata when
 * absent, as Hugging Face loaders require it. Same input, same bytes.
 */
export async function* encodeSafetensors(
  tensors: Tensors,
  metadata: Record<string, string> = {},
  opts: WriteSafetensorsOptions = {},
): AsyncGenerator<Uint8Array> {
  const named = [...(tensors instanceof Map ? tensors : Object.entries(tensors))];
  const planned: Planned[] = [];
  for (const [name, t] of named) {
    if (t.isDisposed) throw new SafetensorsError('BAD_INPUT', '<write>', 'tensor is disposed', name);
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new SafetensorsError(
        'BAD_INPUT',
        '<write>',
        `cannot store dtype ${t.dtype} (float32 or int32 only)`,
        name,
      );
    const shape = [...t.shape];
    const values = async () => (await t.data()) as Float32Array | Int32Array;
    const asBytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (t.dtype === 'float32' && opts.q8 && isQ8Weight(name, shape)) {
      // The weight's bytes come first (its name sorts before its scale's): quantised once, scales kept for next.
      let scale: Float32Array | undefined;
      const scaleName = name + SCALE_SUFFIX;
      if (named.some(([n]) => n === scaleName))
        throw new SafetensorsError(
          'BAD_INPUT',
          '<write>',
          `q8 would store its scale under "${scaleName}", which is taken`,
          name,
        );
      const rows = shape[0] as number;
      planned.push({
        name,
        dtype: 'I8',
        shape,
        bytes: t.size,
        data: async () => {
          const q = q8Of((await values()) as Float32Array, shape);
          scale = q.scale;
          return asBytes(q.q);
        },
      });
      planned.push({
        name: scaleName,
        dtype: 'F32',
        shape: q8ScaleShape(shape),
        bytes: 4 * rows,
        data: async () => {
          const s = scale ?? q8Of((await values()) as Float32Array, shape).scale;
          scale = undefined;
          return asBytes(s);
        },
      });
      continue;
    }
    const dtype = t.dtype === 'int32' ? 'I32' : (opts.floatDtype ?? 'F32');
    planned.push({
      name,
      dtype,
      shape,
      bytes: t.size * (dtype === 'F16' ? 2 : 4),
      data: async () => {
        const v = await values();
        if (dtype !== 'F16') return asBytes(v);
        const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
        const half = new Uint16Array(v.length);
        for (let j = 0; j < v.length; j++) half[j] = f32BitsToF16(bits[j] as number);
        return asBytes(half);
      },
    });
  }
  planned.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const p of planned) {
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.bytes] };
    offset += p.bytes;
  }
  header.__metadata__ = 'format' in metadata ? metadata : { format: 'pt', ...metadata };
  let json = JSON.stringify(header);
  const pad = (8 - (new TextEncoder().encode(json).byteLength % 8)) % 8;
  json += ' '.repeat(pad);
  const jsonBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  yield prefix;
  yield jsonBytes;
  for (const p of planned) yield await p.data();
}

/** The whole file as one buffer (for browsers: download it, or store it in IndexedDB). */
export async function serializeSafetensors(
  tensors: Tensors,
  metadata?: Record<string, string>,
  opts?: WriteSafetensorsOptions,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of encodeSafetensors(tensors, metadata, opts)) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Writes tensors to `path` atomically (temporary file + rename: a crash leaves the old file intact),
 * streaming one tensor at a time. The tensors are not disposed. Node only.
 */
export async function writeSafetensors(
  path: string,
  tensors: Tensors,
  metadata?: Record<string, string>,
  opts?: WriteSafetensorsOptions,
): Promise<void> {
  await atomicWriteFile(path, encodeSafetensors(tensors, metadata, opts));
}
