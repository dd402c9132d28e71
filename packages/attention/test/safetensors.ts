import { readFileSync } from 'node:fs';
import { tf } from '@attn/core-tensor';

/**
 * A minimal F32-only safetensors reader for the gold tests, so this package's tests do not depend on
 * core-tensor's I/O. Format: u64 little-endian header length, a JSON header, then the raw tensor bytes.
 */
export function readF32Safetensors(path: string, prefix = ''): Map<string, tf.Tensor> {
  const bytes = readFileSync(path);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, tf.Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__' || !name.startsWith(prefix)) continue;
    if (info.dtype !== 'F32') throw new Error(`${path}: tensor ${name} is ${info.dtype}, expected F32`);
    const [start, end] = info.data_offsets;
    const data = bytes.subarray(8 + headerLen + start, 8 + headerLen + end);
    const floats = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    out.set(name.slice(prefix.length), tf.tensor(floats, info.shape, 'float32'));
  }
  return out;
}
