import type * as tf from '@tensorflow/tfjs-core';
import { atomicWriteFile } from '../io/atomic-write.js';
import { f32ToF16 } from './dtypes.js';
import { SafetensorsError } from './errors.js';

export interface WriteSafetensorsOptions {
  /** Storage type for float32 tensors: F32 (default, exact) or F16 (half the size, rounded). */
  floatDtype?: 'F32' | 'F16';
}

type Tensors = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

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
  const named = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  const storage: ('F32' | 'F16' | 'I32')[] = [];
  let offset = 0;
  for (const [name, t] of named) {
    if (t.isDisposed) throw new SafetensorsError('BAD_INPUT', '<write>', 'tensor is disposed', name);
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new SafetensorsError(
        'BAD_INPUT',
        '<write>',
        `cannot store dtype ${t.dtype} (float32 or int32 only)`,
        name,
      );
    const dtype = t.dtype === 'int32' ? 'I32' : (opts.floatDtype ?? 'F32');
    const bytes = t.size * (dtype === 'F16' ? 2 : 4);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    storage.push(dtype);
    offset += bytes;
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
  for (const [i, [, t]] of named.entries()) {
    const values = await t.data();
    if (storage[i] !== 'F16') {
      yield new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      continue;
    }
    const half = new Uint16Array(values.length);
    for (let j = 0; j < values.length; j++) half[j] = f32ToF16(values[j] as number);
    yield new Uint8Array(half.buffer);
  }
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
