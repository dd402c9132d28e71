import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttentionShapeError, causalMask, combineMasks, MASKED, paddingMask } from './index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('masks', () => {
  it('paddingMask is [b,1,1,tk]: 0 for real tokens, float32 min for padding', () => {
    const am = tf.tensor2d([
      [1, 1, 0],
      [1, 0, 0],
    ]);
    const m = paddingMask(am);
    expect(m.shape).toEqual([2, 1, 1, 3]);
    expect(Array.from(m.dataSync())).toEqual([0, 0, MASKED, 0, MASKED, MASKED].map(Math.fround));
    expect(MASKED).toBe(-3.4028234663852886e38);
    tf.dispose([am, m]);
  });

  it('causalMask lets query i see keys 0..i', () => {
    const m = causalMask(3);
    expect(m.shape).toEqual([1, 1, 3, 3]);
    const M = Math.fround(MASKED);
    expect(Array.from(m.dataSync())).toEqual([0, M, M, 0, 0, M, 0, 0, 0]);
    m.dispose();
  });

  it('combineMasks masks a key if either mask does, without overflowing to -Infinity', () => {
    const am = tf.tensor2d([[1, 0, 1]]);
    const [p, c] = [paddingMask(am), causalMask(3)];
    const m = combineMasks(p, c);
    expect(m.shape).toEqual([1, 1, 3, 3]);
    const M = Math.fround(MASKED);
    expect(Array.from(m.dataSync())).toEqual([0, M, M, 0, M, M, 0, M, 0]);
    tf.dispose([am, p, c, m]);
  });

  it('an additive mask switches a key off in the softmax: weights by hand for scores (1, 2, 3)', () => {
    const scores = tf.tensor4d([1, 2, 3], [1, 1, 1, 3]);
    const m = paddingMask(tf.tensor2d([[1, 0, 1]]));
    const w = tf.softmax(tf.add(scores, m)).dataSync();
    // The masked key gets exactly 0; the others share e^1 and e^3.
    const z = Math.exp(1) + Math.exp(3);
    expect(w[1]).toBe(0);
    expect(w[0]).toBeCloseTo(Math.exp(1) / z, 6);
    expect(w[2]).toBeCloseTo(Math.exp(3) / z, 6);
    tf.dispose([scores, m]);
  });

  it('frees its intermediates, and rejects bad input naming the argument', async () => {
    const am = tf.tensor2d([[1, 0]]);
    await expectNoLeaks(() => tf.dispose([paddingMask(am), causalMask(4)]), 'masks');
    expect(() => causalMask(0)).toThrow(AttentionShapeError);
    expect(() => causalMask(2.5)).toThrow(/causalMask: t/);
    const flat = tf.tensor1d([1, 0]);
    expect(() => paddingMask(flat)).toThrow(/paddingMask: attentionMask.*\[batch, keys\]/);
    tf.dispose([am, flat]);
  });
});
