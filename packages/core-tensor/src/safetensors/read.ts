import * as tf from '@tensorflow/tfjs-core';
import type { WeightDType } from '../onnx/quantize.js';
import { decode, type SafetensorsDtype } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { headerLength, parseHeader, type TensorEntry } from './header.js';
import { StoredWeights } from './q8.js';
import { readIndex } from './sharded.js';
import { openSource, type SafetensorsInput } from './source.js';

export interface ReadSafetensorsOptions {
  /**
   * The precision to read the weights at, whatever the file stores: 'fp16' rounds float32 values to half,
   * 'q8' quantises and dequantises the matrix weights (as a q8 file holds them). Default 'fp32': as stored.
   * Tensors stored at lower precision (F16, q8) are widened, never rounded again.
   */
  dtype?: WeightDType;
}

/** One stored tensor, decoded: floats as Float32Array, integers as Int32Array. */
export interface TensorData {
  /** The dtype stored in the file (F16/BF16 data has been widened to float32, I8 q8 weights dequantised). */
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
  visit: ((entry: TensorEntry, data: Float32Array | Int32Array | Int8Array) => void) | null,
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

/**
 * Visits every tensor of a file, or of all shards named by a `*.index.json`, at the precision asked for: a q8
 * weight and its scale (which may sit in different shards) become one float32 tensor.
 */
async function eachTensorOf(
  input: SafetensorsInput,
  visit: (
    entry: { name: string; dtype: SafetensorsDtype; shape: number[] },
    data: Float32Array | Int32Array,
  ) => void,
  opts: ReadSafetensorsOptions = {},
) {
  const source = typeof input === 'string' ? input : '<bytes>';
  const stored = new StoredWeights(source, visit, opts.dtype);
  if (!isIndex(input)) {
    await eachTensor(input, (e, d) => stored.add(e, d));
    return stored.finish();
  }
  for (const { file, names } of await readIndex(input)) {
    const seen = new Set<string>();
    stored.source = file;
    await eachTensor(
      file,
      (e, d) => {
        seen.add(e.name);
        stored.add(e, d);
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
  stored.finish();
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
 * into name → { dtype, shape, data }. F16/BF16 are widened to float32, q8 weights (I8 + `_scale`)
 * dequantised to float32 under their own name, I64 narrowed to int32 (out of range is an error).
 * Aligned F32/I32 data given as bytes is viewed, not copied.
 */
export async function readSafetensors(
  input: SafetensorsInput,
  opts?: ReadSafetensorsOptions,
): Promise<Map<string, TensorData>> {
  const out = new Map<string, TensorData>();
  await eachTensorOf(input, (e, data) => out.set(e.name, { dtype: e.dtype, shape: e.shape, data }), opts);
  return out;
}

/**
 * Like readSafetensors, but returns tfjs tensors (float32 or int32), created one by one as they are
 * read so the weights are never held twice. The caller owns and disposes them.
 */
export async function loadSafetensors(
  input: SafetensorsInput,
  opts?: ReadSafetensorsOptions,
): Promise<Map<string, tf.Tensor>> {
  return toTensors((visit) => eachTensorOf(input, visit, opts));
}

/**
 * The tensors of several files read as one checkpoint (a page's shards, fetched one at a time while the
 * previous one becomes tensors): a q8 weight's scale may be in another shard. The caller disposes them.
 */
export async function loadSafetensorsShards(
  shards: AsyncIterable<SafetensorsInput> | Iterable<SafetensorsInput>,
  opts: ReadSafetensorsOptions = {},
): Promise<Map<string, tf.Tensor>> {
  return toTensors(async (visit) => {
    const stored = new StoredWeights('<bytes>', visit, opts.dtype);
    for await (const shard of shards) {
      stored.source = typeof shard === 'string' ? shard : '<bytes>';
      await eachTensor(shard, (e, d) => stored.add(e, d));
    }
    stored.finish();
  });
}

async function toTensors(
  read: (
    visit: (e: { name: string; shape: number[] }, data: Float32Array | Int32Array) => void,
  ) => Promise<void>,
): Promise<Map<string, tf.Tensor>> {
  const out = new Map<string, tf.Tensor>();
  try {
    await read((e, data) =>
      out.set(e.name, tf.tensor(data, e.shape, data instanceof Float32Array ? 'float32' : 'int32')),
    );
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}
