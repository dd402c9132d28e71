import * as tf from '@tensorflow/tfjs-core';
import { decode, type SafetensorsDtype } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { headerLength, parseHeader, type TensorEntry } from './header.js';
import { readIndex } from './sharded.js';
import { openSource, type SafetensorsInput } from './source.js';

/** One stored tensor, decoded: floats as Float32Array, integers as Int32Array. */
export interface TensorData {
  /** The dtype stored in the file (F16/BF16 data has been widened to float32). */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsInfo {
  metadata: Record<string, string>;
  tensors: { name: string; dtype: SafetensorsDtype; shape: number[] }[];
}

/** Visits the tensors of one file in storage order, each decoded from a single read. */
async function eachTensor(
  input: SafetensorsInput,
  visit: ((entry: TensorEntry, data: Float32Array | Int32Array) => void) | null,
  wanted?: Set<string>,
) {
  const src = await openSource(input);
  try {
    const prefix = src.size >= 8 ? await src.read(0, 8) : new Uint8Array(0);
    const n = headerLength(prefix, src.size, src.name);
    const header = parseHeader(await src.read(8, n), src.size - 8 - n, src.name);
    if (!visit) return header;
    const entries = header.entries
      .filter((e) => !wanted || wanted.has(e.name))
      .sort((a, b) => a.begin - b.begin);
    for (const e of entries) {
      const length = e.end - e.begin;
      // F32/I32 from a file are read straight into the array that becomes the tensor: one copy only.
      const into = src.inMemory ? undefined : new Uint8Array(new ArrayBuffer(length));
      const bytes = await src.read(header.dataStart + e.begin, length, into);
      const data = decode(e.dtype, bytes, (i, v) => {
        throw new SafetensorsError(
          'VALUE_OUT_OF_RANGE',
          src.name,
          `I64 value ${v} at index ${i} does not fit int32`,
          e.name,
        );
      });
      visit(e, data);
    }
    return header;
  } finally {
    await src.close();
  }
}

const isIndex = (input: SafetensorsInput): input is string =>
  typeof input === 'string' && input.endsWith('.json');

/** Visits every tensor of a file, or of all shards named by a `*.index.json`. */
async function eachTensorOf(
  input: SafetensorsInput,
  visit: (entry: TensorEntry, data: Float32Array | Int32Array) => void,
) {
  if (!isIndex(input)) return void (await eachTensor(input, visit));
  for (const { file, names } of await readIndex(input)) {
    const seen = new Set<string>();
    await eachTensor(
      file,
      (e, d) => {
        seen.add(e.name);
        visit(e, d);
      },
      names,
    );
    const lost = [...names].filter((n) => !seen.has(n));
    if (lost.length)
      throw new SafetensorsError(
        'BAD_INDEX',
        input,
        `shard ${file} lacks tensors the index maps to it: ${lost.join(', ')}`,
      );
  }
}

/** Header only: metadata, names, dtypes and shapes, without reading any tensor data. */
export async function readSafetensorsInfo(input: SafetensorsInput): Promise<SafetensorsInfo> {
  const header = await eachTensor(input, null);
  return {
    metadata: header.metadata,
    tensors: header.entries.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
  };
}

/**
 * Reads a safetensors file (path in Node, URL, or bytes) or a sharded checkpoint (`*.index.json`)
 * into name → { dtype, shape, data }. F16/BF16 are widened to float32, I64 narrowed to int32 (out of
 * range is an error). Aligned F32/I32 data given as bytes is viewed, not copied.
 */
export async function readSafetensors(input: SafetensorsInput): Promise<Map<string, TensorData>> {
  const out = new Map<string, TensorData>();
  await eachTensorOf(input, (e, data) => out.set(e.name, { dtype: e.dtype, shape: e.shape, data }));
  return out;
}

/**
 * Like readSafetensors, but returns tfjs tensors (float32 or int32), created one by one as they are
 * read so the weights are never held twice. The caller owns and disposes them.
 */
export async function loadSafetensors(input: SafetensorsInput): Promise<Map<string, tf.Tensor>> {
  const out = new Map<string, tf.Tensor>();
  try {
    await eachTensorOf(input, (e, data) =>
      out.set(e.name, tf.tensor(data, e.shape, data instanceof Float32Array ? 'float32' : 'int32')),
    );
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}
