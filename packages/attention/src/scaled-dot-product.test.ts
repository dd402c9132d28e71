import { initBackend, tf } from '@attn/core-tensor';
import { backendsUnderTest, expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../test/helpers.js';
import { type MaskFn, referenceAttention, type Shape4, uniform } from '../test/reference.js';
import {
  AttentionShapeError,
  causalMask,
  combineMasks,
  MASKED,
  paddingMask,
  scaledDotProductAttention,
} from './index.js';

/** Each case: shape, an optional 0/1 key mask per batch row, whether causal. */
const cases: { name: string; s: Shape4; keep?: number[][]; causal?: boolean }[] = [
  { name: 'single query and key', s: { b: 1, h: 1, tq: 1, tk: 1, d: 4 } },
  { name: 'cross-attention tq≠tk', s: { b: 2, h: 3, tq: 5, tk: 7, d: 8 } },
  {
    name: 'padding',
    s: { b: 3, h: 2, tq: 6, tk: 6, d: 16 },
    keep: [
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0, 0],
      [1, 0, 0, 0, 0, 0],
    ],
  },
  { name: 'causal', s: { b: 2, h: 4, tq: 9, tk: 9, d: 8 }, causal: true },
  {
    name: 'padding + causal',
    s: { b: 2, h: 2, tq: 7, tk: 7, d: 32 },
    keep: [
      [1, 1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1, 1, 1],
    ],
    causal: true,
  },
  // Keys 0..1 padded with a causal mask: queries 0 and 1 see no key at all (a fully masked row).
  { name: 'fully masked rows', s: { b: 1, h: 2, tq: 4, tk: 4, d: 8 }, keep: [[0, 0, 1, 1]], causal: true },
];

describe.each(await backendsUnderTest())('scaledDotProductAttention on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each(cases)('$name: output and weights match a float64 loop to 1e-6', async ({ s, keep, causal }) => {
    const { b, h, tq, tk, d } = s;
    const qd = uniform(b * h * tq * d, 1);
    const kd = uniform(b * h * tk * d, 2);
    const vd = uniform(b * h * tk * d, 3);
    const maskFn: MaskFn | undefined =
      keep || causal
        ? (bi, _h, i, j) => ((keep && keep[bi]![j] === 0) || (causal && j > i) ? MASKED : 0)
        : undefined;
    const ref = referenceAttention(qd, kd, vd, s, maskFn);
    await expectNoLeaks(async () => {
      const [q, k, v] = [
        tf.tensor4d(qd, [b, h, tq, d]),
        tf.tensor4d(kd, [b, h, tk, d]),
        tf.tensor4d(vd, [b, h, tk, d]),
      ];
      const masks: tf.Tensor[] = [];
      const keepT = keep && tf.tensor2d(keep);
      if (keepT) masks.push(paddingMask(keepT));
      if (causal) masks.push(causalMask(tq));
      const mask = masks.length === 2 ? combineMasks(masks[0]!, masks[1]!) : masks[0];
      const { output, weights } = scaledDotProductAttention(q, k, v, { mask });
      const [w, o] = [await weights.data(), await output.data()];
      expect(weights.shape).toEqual([b, h, tq, tk]);
      expect(output.shape).toEqual([b, h, tq, d]);
      expect(w.every(Number.isFinite) && o.every(Number.isFinite)).toBe(true);
      expect(maxAbsDiff(w, ref.weights)).toBeLessThan(1e-6);
      expect(maxAbsDiff(o, ref.output)).toBeLessThan(1e-6);
      tf.dispose([
        q,
        k,
        v,
        output,
        weights,
        ...masks,
        ...(keepT ? [keepT] : []),
        ...(masks.length === 2 ? [mask!] : []),
      ]);
    }, 'scaledDotProductAttention');
  });
});

describe('attention under masks', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('an all-(-Infinity) mask still gives finite, uniform weights', () => {
    const q = tf.ones([1, 1, 2, 4]);
    const mask = tf.fill([1, 1, 2, 3], -Infinity);
    const kv = tf.ones([1, 1, 3, 4]);
    const { output, weights } = scaledDotProductAttention(q, kv, kv, { mask });
    for (const x of weights.dataSync()) expect(x).toBeCloseTo(1 / 3, 7);
    expect(output.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([q, mask, kv, output, weights]);
  });

  it('rejects mismatched shapes with an AttentionShapeError naming the tensor', () => {
    const q = tf.zeros([1, 2, 3, 4]);
    const k = tf.zeros([1, 2, 5, 8]);
    const badMask = tf.zeros([1, 1, 3, 4]);
    const k5 = tf.zeros([1, 2, 5, 4]);
    expect(() => scaledDotProductAttention(q, k, k)).toThrow(AttentionShapeError);
    expect(() => scaledDotProductAttention(q, k, k)).toThrow(/: k/);
    expect(() => scaledDotProductAttention(q, k5, k5, { mask: badMask })).toThrow(/mask.*does not broadcast/);
    expect(() => paddingMask(q)).toThrow(/paddingMask: attentionMask/);
    tf.dispose([q, k, badMask, k5]);
  });
});
