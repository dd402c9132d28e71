import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { expectNoLeaks } from '../testing.js';
import {
  loadSafetensors,
  loadSafetensorsShards,
  readSafetensors,
  readSafetensorsInfo,
  SafetensorsError,
  serializeSafetensors,
  storedBytes,
} from './index.js';

/** A safetensors file from raw entries: each tensor's dtype, shape and bytes, packed in the order given. */
function build(
  entries: Record<string, { dtype: string; shape: number[]; bytes: ArrayBufferView }>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, e] of Object.entries(entries)) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.byteLength] };
    offset += e.bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const e of Object.values(entries)) {
    out.set(new Uint8Array(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength), at);
    at += e.bytes.byteLength;
  }
  return out;
}

// Row 0: max |w| = 0.5, so scale = 0.5/127 and q = round(w/scale) = [127, round(-50.8), round(25.4)].
// Row 1 is all zeros: scale 1, q 0 (any scale reproduces it).
const W = [0.5, -0.2, 0.1, 0, 0, 0];
const S0 = Math.fround(0.5 / 127);
const Q = [127, -51, 25, 0, 0, 0];

const expectCode = (p: Promise<unknown>, code: string, tensor: string, phrase: RegExp) =>
  p.then(
    () => expect.unreachable('should have thrown'),
    (e) => {
      expect(e).toBeInstanceOf(SafetensorsError);
      expect(e.code).toBe(code);
      expect(e.tensor).toBe(tensor);
      expect(e.message).toMatch(phrase);
    },
  );

describe('q8 safetensors (I8 weights with per-row scales)', () => {
  beforeAll(() => initBackend('cpu'));

  it('stores matrix weights as I8 + F32 [rows, 1] scales, the rest as F32, and reads them back dequantised', async () => {
    const bytes = await expectNoLeaks(async () => {
      const t = {
        'lin.weight': tf.tensor2d(W, [2, 3]),
        'lin.bias': tf.tensor1d([0.25, -1]),
        'norm.weight': tf.tensor1d([1, 2, 3]),
        ids: tf.tensor1d([7], 'int32'),
      };
      expect(storedBytes('lin.weight', t['lin.weight'], { q8: true })).toBe(6 + 8);
      expect(storedBytes('lin.bias', t['lin.bias'], { q8: true })).toBe(8);
      const out = await serializeSafetensors(t, {}, { q8: true });
      for (const x of Object.values(t)) x.dispose();
      return out;
    });
    const info = await readSafetensorsInfo(bytes);
    expect(Object.fromEntries(info.tensors.map((e) => [e.name, [e.dtype, e.shape]]))).toEqual({
      'lin.weight': ['I8', [2, 3]],
      'lin.weight_scale': ['F32', [2, 1]],
      'lin.bias': ['F32', [2]],
      'norm.weight': ['F32', [3]],
      ids: ['I32', [1]],
    });
    const read = await readSafetensors(bytes);
    expect([...read.keys()].sort()).toEqual(['ids', 'lin.bias', 'lin.weight', 'norm.weight']);
    expect(read.get('lin.weight')!.dtype).toBe('I8');
    expect([...read.get('lin.weight')!.data]).toEqual(Q.map((q, i) => Math.fround(q * (i < 3 ? S0 : 1))));
    expect([...read.get('lin.bias')!.data]).toEqual([0.25, -1]);
    expect([...read.get('norm.weight')!.data]).toEqual([1, 2, 3]);
    // 14 + 8 + 12 + 4 data bytes against 24 + 8 + 12 + 4 at fp32.
    expect(bytes.byteLength - 8 - Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(38);
  });

  it('reads an fp32 file at fp16 or q8 precision: the numbers those downloads give', async () => {
    const bytes = build({
      'lin.weight': { dtype: 'F32', shape: [2, 3], bytes: new Float32Array(W) },
      'lin.bias': { dtype: 'F32', shape: [2], bytes: new Float32Array([0.1, 1 + 2 ** -11]) },
      ids: { dtype: 'I32', shape: [1], bytes: new Int32Array([5]) },
    });
    const half = await readSafetensors(bytes, { dtype: 'fp16' });
    // 0.1 in half is 1638/16384; 1 + 2^-11 is a tie that rounds to even (1).
    expect([...half.get('lin.bias')!.data]).toEqual([1638 / 16384, 1]);
    expect([...half.get('lin.weight')!.data]).toEqual([0.5, -0.199951171875, 0.0999755859375, 0, 0, 0]);
    expect([...half.get('ids')!.data]).toEqual([5]);
    const q8 = await readSafetensors(bytes, { dtype: 'q8' });
    expect([...q8.get('lin.weight')!.data]).toEqual(Q.map((q, i) => Math.fround(q * (i < 3 ? S0 : 1))));
    expect([...q8.get('lin.bias')!.data]).toEqual([Math.fround(0.1), Math.fround(1 + 2 ** -11)]);
    // The caller's bytes are not rounded in place.
    expect(new Float32Array(bytes.buffer.slice(bytes.byteLength - 36, bytes.byteLength - 12))[1]).toBe(
      Math.fround(-0.2),
    );
  });

  it('pairs a weight with its scale across shards', async () => {
    const shard1 = build({ 'a.weight': { dtype: 'I8', shape: [1, 2], bytes: new Int8Array([2, -4]) } });
    const shard2 = build({
      'a.weight_scale': { dtype: 'F32', shape: [1, 1], bytes: new Float32Array([0.5]) },
    });
    const before = tf.memory().numTensors;
    const t = await loadSafetensorsShards([shard1, shard2]);
    expect([...t.keys()]).toEqual(['a.weight']);
    expect([...(await t.get('a.weight')!.data())]).toEqual([1, -2]);
    t.get('a.weight')!.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a weight without its scale, or a scale of the wrong dtype or shape, is a typed error naming the tensor', async () => {
    const i8 = { dtype: 'I8', shape: [2, 3], bytes: new Int8Array(Q) };
    const bias = { dtype: 'F32', shape: [2], bytes: new Float32Array([1, 2]) };
    const before = tf.memory().numTensors;
    // The bias (read first) became a tensor before the error: it is disposed, nothing leaks.
    await expectCode(
      loadSafetensors(build({ 'a.bias': bias, 'lin.weight': i8 })),
      'MISSING_SCALE',
      'lin.weight',
      /I8 weight without its scale tensor "lin.weight_scale"/,
    );
    expect(tf.memory().numTensors).toBe(before);
    await expectCode(
      readSafetensors(
        build({
          'lin.weight': i8,
          'lin.weight_scale': { dtype: 'I32', shape: [2, 1], bytes: new Int32Array(2) },
        }),
      ),
      'BAD_DTYPE',
      'lin.weight_scale',
      /a q8 scale must be a float tensor \(F32\), got I32/,
    );
    await expectCode(
      readSafetensors(
        build({
          'lin.weight': i8,
          'lin.weight_scale': { dtype: 'F32', shape: [3], bytes: new Float32Array(3) },
        }),
      ),
      'BAD_SHAPE',
      'lin.weight_scale',
      /shape \[3\] does not give one scale per row of "lin.weight" \[2,3\]/,
    );
    await expectCode(
      readSafetensors(
        build({
          'lin.weight': { dtype: 'F32', shape: [2, 3], bytes: new Float32Array(W) },
          'lin.weight_scale': { dtype: 'F32', shape: [2, 1], bytes: new Float32Array(2) },
        }),
      ),
      'BAD_DTYPE',
      'lin.weight',
      /has a q8 scale "lin.weight_scale" but is stored as F32; a q8 weight is I8/,
    );
  });

  it('a lone tensor whose name ends in _scale is an ordinary tensor', async () => {
    const t = await readSafetensors(
      build({ layer_scale: { dtype: 'F32', shape: [2], bytes: new Float32Array([3, 4]) } }),
    );
    expect([...t.get('layer_scale')!.data]).toEqual([3, 4]);
  });

  it('refuses to write a q8 weight whose scale name is taken', async () => {
    const t = { 'a.weight': tf.zeros([2, 2]), 'a.weight_scale': tf.zeros([2, 1]) };
    await expect(serializeSafetensors(t, {}, { q8: true })).rejects.toThrow(
      /"a.weight_scale", which is taken/,
    );
    for (const x of Object.values(t)) x.dispose();
  });
});
