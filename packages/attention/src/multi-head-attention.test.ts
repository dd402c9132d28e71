import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttentionConfigError, AttentionShapeError, MultiHeadAttention } from './index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** hiddenSize 2, two heads of width 1, identity Q/K/V projections without bias: each head sees one column. */
function identityHeads(): MultiHeadAttention {
  const mha = new MultiHeadAttention({ hiddenSize: 2, numHeads: 2 });
  const weights = new Map(
    mha.namedParameters().map(([name]) => [name, name.endsWith('weight') ? tf.eye(2) : tf.zeros([2])]),
  );
  mha.loadStateDict(weights, { release: true });
  return mha;
}

describe('MultiHeadAttention', () => {
  it('splits H into heads, attends per head with softmax(qkᵀ/√d)v, and concatenates: by hand', async () => {
    const mha = identityHeads();
    // x = [[1, 0], [0, 2]]: head 0 gets column 0 (1, 0), head 1 column 1 (0, 2); d_k = 1.
    const x = tf.tensor3d([
      [
        [1, 0],
        [0, 2],
      ],
    ]);
    await expectNoLeaks(() => {
      const r = mha.forward(x, { outputAttentions: true });
      tf.dispose([r.context, r.weights!]);
    }, 'forward');
    const { context, weights } = mha.forward(x, { outputAttentions: true });
    const e = Math.E;
    const e4 = Math.exp(4);
    // Head 0: scores [[1, 0], [0, 0]]; head 1: scores [[0, 0], [0, 4]].
    const w = weights!.arraySync() as number[][][][];
    const expectedW = [
      [
        [e / (e + 1), 1 / (e + 1)],
        [0.5, 0.5],
      ],
      [
        [0.5, 0.5],
        [1 / (1 + e4), e4 / (1 + e4)],
      ],
    ];
    for (let h = 0; h < 2; h++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) expect(w[0]![h]![i]![j]).toBeCloseTo(expectedW[h]![i]![j]!, 6);
    // Context row i = [head 0's output, head 1's output] (concatenated, before W_O).
    const c = context.arraySync() as number[][][];
    const expectedC = [
      [e / (e + 1), 1],
      [0.5, (2 * e4) / (1 + e4)],
    ];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) expect(c[0]![i]![j]).toBeCloseTo(expectedC[i]![j]!, 6);
    tf.dispose([x, context, weights!]);
    mha.dispose();
  });

  it('cross-attention takes keys and values from keyValue; a mask removes a key', () => {
    const mha = identityHeads();
    const x = tf.tensor3d([[[1, 1]]]); // one query
    const kv = tf.tensor3d([
      [
        [2, 0],
        [0, 4],
      ],
    ]);
    const mask = tf.tensor4d([0, -1e9], [1, 1, 1, 2]); // key 1 off
    const { context } = mha.forward(x, { keyValue: kv, mask });
    // Only key 0 is left, so each head returns its value: (2, 0).
    const got = Array.from(context.dataSync());
    expect(got[0]).toBeCloseTo(2, 6);
    expect(got[1]).toBeCloseTo(0, 6);
    tf.dispose([x, kv, mask, context]);
    mha.dispose();
  });

  it('rejects a hidden size that is not a multiple of the heads, and inputs of the wrong width', () => {
    expect(() => new MultiHeadAttention({ hiddenSize: 6, numHeads: 4 })).toThrow(AttentionConfigError);
    const mha = new MultiHeadAttention({ hiddenSize: 4, numHeads: 2 });
    const x = tf.zeros([1, 3, 5]);
    expect(() => mha.forward(x)).toThrow(AttentionShapeError);
    expect(() => mha.forward(x)).toThrow(/MultiHeadAttention: x/);
    x.dispose();
    mha.dispose();
  });
});
