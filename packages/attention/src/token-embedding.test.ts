import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScaledTokenEmbedding } from './index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('ScaledTokenEmbedding', () => {
  it('ScaledTokenEmbedding multiplies the looked-up vectors by √d_model', () => {
    const emb = new ScaledTokenEmbedding(7, 16);
    const ids = tf.tensor2d(
      [
        [3, 0],
        [6, 3],
      ],
      undefined,
      'int32',
    );
    const out = emb.forward(ids);
    expect(out.shape).toEqual([2, 2, 16]);
    const w = emb.weight.value.arraySync() as number[][];
    const got = out.arraySync() as number[][][];
    for (let j = 0; j < 16; j++) expect(got[1]![0]![j]).toBeCloseTo(w[6]![j]! * 4, 6);
    expect(got[0]![0]).toEqual(got[1]![1]);
    // Training mode takes the one-hot · W path (a matmul gradient): exactly the same numbers.
    emb.train();
    const trained = emb.forward(ids);
    expect(Array.from(trained.dataSync())).toEqual(Array.from(out.dataSync()));
    tf.dispose([ids, out, trained]);
    emb.dispose();
  });

  it('by hand: weight rows (1, 2, 3, 4) and (−1, 0, 0.5, 2) at d_model 4 come out ×2', async () => {
    const emb = new ScaledTokenEmbedding(3, 4);
    const w = tf.tensor2d([
      [0, 0, 0, 0],
      [1, 2, 3, 4],
      [-1, 0, 0.5, 2],
    ]);
    emb.loadStateDict(new Map([['weight', w]]));
    w.dispose();
    const ids = tf.tensor1d([2, 1], 'int32');
    await expectNoLeaks(() => emb.forward(ids).dispose(), 'forward');
    const out = emb.forward(ids);
    expect(out.arraySync()).toEqual([
      [-2, 0, 1, 4],
      [2, 4, 6, 8],
    ]);
    tf.dispose([ids, out]);
    emb.dispose();
  });

  it('initialises with std d_model^−½, so scaled vectors have the spread of the ±1 sinusoids', () => {
    const emb = new ScaledTokenEmbedding(2000, 64);
    const ids = tf.range(0, 2000, 1, 'int32');
    const out = emb.forward(ids);
    const v = out.dataSync();
    let sq = 0;
    for (const x of v) sq += x * x;
    // A normal truncated at ±2σ has standard deviation 0.8796σ; σ·√d_model = 1 here.
    expect(Math.sqrt(sq / v.length)).toBeCloseTo(0.8796, 1);
    tf.dispose([ids, out]);
    emb.dispose();
  });
});
