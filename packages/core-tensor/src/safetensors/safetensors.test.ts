import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, fixturePath, haveFixtures } from '../testing.js';
import {
  loadSafetensors,
  readSafetensors,
  readSafetensorsInfo,
  serializeSafetensors,
  writeSafetensors,
} from './index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'attn-st-'));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A safetensors file made by hand: header object, then raw little-endian data. */
function craft(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.skipIf(!haveFixtures('safetensors fixture tests'))('bert-tiny-random/model.safetensors', () => {
  const file = fixturePath('bert-tiny-random/model.safetensors');

  it('is the file the golden README describes', () => {
    expect(sha256(file)).toBe('f80fc53b6f14ae53b677f11bdee7ae5608598ed5604e1f11aec82ef704597a16');
  });

  it('reads every tensor with the stored names, shapes and values', async () => {
    const tensors = await readSafetensors(file);
    expect(tensors.size).toBe(48);
    const we = tensors.get('bert.embeddings.word_embeddings.weight')!;
    expect(we.dtype).toBe('F32');
    expect(we.shape).toEqual([30522, 32]);
    // Values read independently with numpy from the same file.
    expect([...we.data.subarray(0, 32)].every((v) => v === 0)).toBe(true); // padding row stays zero
    expect([...we.data.subarray(32, 36)]).toEqual(
      [0.25365498661994934, 0.5066161155700684, 0.10077513754367828, -0.10490822792053223].map(Math.fround),
    );
    expect(we.data[1996 * 32 + 1]).toBe(Math.fround(0.37450313568115234));
    expect(we.data[we.data.length - 1]).toBe(Math.fround(0.0045700534246861935));
    const bias = tensors.get('cls.predictions.bias')!;
    expect(bias.shape).toEqual([30522]);
    expect([...bias.data.subarray(0, 3)]).toEqual(
      [0.13377805054187775, -0.007127275224775076, -0.16469140350818634].map(Math.fround),
    );
    const ln = tensors.get('bert.encoder.layer.1.output.LayerNorm.weight')!;
    expect(ln.data[0]).toBe(Math.fround(1.102866291999817));
    expect([...ln.data].reduce((a, b) => a + b, 0)).toBeCloseTo(31.986700296401978, 5);
    const cls = tensors.get('classifier.weight')!;
    expect(cls.shape).toEqual([3, 32]);
    expect(cls.data[0]).toBe(Math.fround(-0.37082159519195557));
    expect(cls.data[95]).toBe(Math.fround(-0.12750963866710663));
    expect(tensors.get('bert.encoder.layer.0.attention.self.query.weight')!.shape).toEqual([32, 32]);
  });

  it('exposes the header metadata without reading the data', async () => {
    const info = await readSafetensorsInfo(file);
    expect(info.metadata.format).toBe('pt');
    expect(info.tensors).toHaveLength(48);
  });

  it('loads as tensors, and saving then re-reading is bit-exact (the file is even byte-identical)', async () => {
    const dir = tmp();
    const out = join(dir, 'model.safetensors');
    const { metadata } = await readSafetensorsInfo(file);
    await expectNoLeaks(async () => {
      const tensors = await loadSafetensors(file);
      expect(tensors.get('bert.pooler.dense.weight')!.dtype).toBe('float32');
      await writeSafetensors(out, tensors, metadata);
      for (const t of tensors.values()) t.dispose();
    }, 'load + write');
    expect(sha256(out)).toBe(sha256(file));
    const [a, b] = [await readSafetensors(file), await readSafetensors(out)];
    for (const [name, t] of a)
      expect(Buffer.from(b.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
  });

  it('reads from an ArrayBuffer, viewing aligned F32 data without copying', async () => {
    const bytes = readFileSync(file);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const tensors = await readSafetensors(ab);
    expect(tensors.size).toBe(48);
    expect(tensors.get('classifier.weight')!.data.buffer).toBe(ab);
  });
});

describe('dtypes', () => {
  it('widens F16 and BF16 to float32 exactly and narrows I64 to int32', async () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfc00]);
    const bf16 = new Uint16Array([0x3f80, 0x4049, 0xbf00]);
    const i64 = new BigInt64Array([0n, -1n, 2147483647n, -2147483648n]);
    const i32 = new Int32Array([7, -8]);
    const data = new Uint8Array(12 + 6 + 32 + 8);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 12);
    data.set(new Uint8Array(i64.buffer), 18);
    data.set(new Uint8Array(i32.buffer), 50);
    const file = craft(
      {
        h: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
        b: { dtype: 'BF16', shape: [3], data_offsets: [12, 18] },
        l: { dtype: 'I64', shape: [4], data_offsets: [18, 50] },
        i: { dtype: 'I32', shape: [2], data_offsets: [50, 58] },
      },
      data,
    );
    const t = await readSafetensors(file);
    expect(t.get('h')!.shape).toEqual([2, 3]);
    expect([...t.get('h')!.data]).toEqual([1, -2, 65504, 2 ** -24, Math.fround(0.333251953125), -Infinity]);
    expect([...t.get('b')!.data]).toEqual([1, 3.140625, -0.5]);
    expect(t.get('l')!.data).toBeInstanceOf(Int32Array);
    expect([...t.get('l')!.data]).toEqual([0, -1, 2147483647, -2147483648]);
    expect([...t.get('i')!.data]).toEqual([7, -8]);
    await expectNoLeaks(async () => {
      const loaded = await loadSafetensors(file);
      expect(loaded.get('l')!.dtype).toBe('int32');
      expect(await loaded.get('h')!.data()).toEqual(new Float32Array(t.get('h')!.data));
      for (const x of loaded.values()) x.dispose();
    }, 'loadSafetensors');
  });

  it('writes F16 with round-to-nearest-even and int32 as I32', async () => {
    const values = [1, -2, 65504, 70000, 1 / 3, 2 ** -25 * 1.5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0];
    await expectNoLeaks(async () => {
      const x = tf.tensor1d(values);
      const ids = tf.tensor1d([3, -4], 'int32');
      const bytes = await serializeSafetensors({ x, ids }, { note: 'half' }, { floatDtype: 'F16' });
      x.dispose();
      ids.dispose();
      const back = await readSafetensors(bytes);
      expect(back.get('x')!.dtype).toBe('F16');
      // 70000 overflows to inf; 1+2^-11 is a tie that rounds to even (1); 1+3·2^-11 rounds up.
      expect([...back.get('x')!.data]).toEqual([
        1,
        -2,
        65504,
        Infinity,
        Math.fround(0.333251953125),
        2 ** -24,
        1,
        1 + 2 ** -9,
        0,
      ]);
      expect(back.get('ids')!.dtype).toBe('I32');
      expect([...back.get('ids')!.data]).toEqual([3, -4]);
      expect((await readSafetensorsInfo(bytes)).metadata).toEqual({ format: 'pt', note: 'half' });
    }, 'serialize F16');
  });

  it('writes the header padded to 8 bytes, names sorted, deterministically', async () => {
    const a = tf.ones([3]);
    const b = tf.zeros([1, 2]);
    const one = await serializeSafetensors(
      new Map([
        ['z', a],
        ['a', b],
      ]),
    );
    const two = await serializeSafetensors(
      new Map([
        ['a', b],
        ['z', a],
      ]),
    );
    a.dispose();
    b.dispose();
    expect(Buffer.from(one).equals(Buffer.from(two))).toBe(true);
    const n = Number(new DataView(one.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(new TextDecoder().decode(one.subarray(8, 8 + n)).trimEnd()).toBe(
      '{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},"__metadata__":{"format":"pt"}}',
    );
  });
});

describe('sharded checkpoints', () => {
  it('loads every shard named by model.safetensors.index.json', async () => {
    const dir = tmp();
    await expectNoLeaks(async () => {
      const [a, b, c] = [tf.tensor1d([1, 2]), tf.tensor2d([[3], [4]]), tf.scalar(5)];
      await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a, b });
      await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), { c });
      const weightMap = {
        a: 'model-00001-of-00002.safetensors',
        b: 'model-00001-of-00002.safetensors',
        c: 'model-00002-of-00002.safetensors',
      };
      writeFileSync(
        join(dir, 'model.safetensors.index.json'),
        JSON.stringify({ metadata: {}, weight_map: weightMap }),
      );
      const loaded = await loadSafetensors(join(dir, 'model.safetensors.index.json'));
      expect([...loaded.keys()].sort()).toEqual(['a', 'b', 'c']);
      expect(await loaded.get('b')!.array()).toEqual([[3], [4]]);
      expect(loaded.get('c')!.shape).toEqual([]);
      for (const t of [a, b, c, ...loaded.values()]) t.dispose();
    }, 'sharded load');
  });
});
