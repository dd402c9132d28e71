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
  scaledMaskedSoftmax,
} from './index.js';
import { SOFTMAX_FLOOR } from './masks.js';

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

/** The softmax of attention as tfjs tapes it op by op: what `scaledMaskedSoftmax` must equal. */
const composed = (s: tf.Tensor, scale: number, m?: tf.Tensor) =>
  tf.tidy(() => {
    const scaled = tf.div(s, scale);
    return tf.softmax(m ? tf.add(scaled, tf.maximum(m, SOFTMAX_FLOOR)) : scaled, -1);
  });

describe.each(await backendsUnderTest())('scaledMaskedSoftmax on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  const [b, h, tq, tk] = [2, 3, 7, 7];
  // A padding mask (MASKED and −∞ both), a causal one, a full [b, h, tq, tk] one with a fully masked row.
  const pad = [0, 0, 0, 0, 0, MASKED, -Infinity, 0, 0, MASKED, MASKED, MASKED, MASKED, MASKED];
  const full = Array.from({ length: b * h * tq * tk }, (_, i) =>
    i < tk || i % 3 === 0 ? -Infinity : uniform(1, i)[0]!,
  );
  const masks: [string, (() => tf.Tensor) | undefined][] = [
    ['no mask', undefined],
    ['padding [b, 1, 1, tk]', () => tf.tensor4d(pad, [b, 1, 1, tk])],
    ['causal [1, 1, tq, tk]', () => causalMask(tq)],
    ['full [b, h, tq, tk], a fully masked row', () => tf.tensor4d(full, [b, h, tq, tk])],
  ];

  it.each(masks)(
    '%s: the same probabilities, and gradients equal to the taped ops to 1e-5',
    async (_, makeMask) => {
      await expectNoLeaks(async () => {
        const scores = tf.tensor4d(
          uniform(b * h * tq * tk, 7).map((x) => 4 * x),
          [b, h, tq, tk],
        );
        const dy = tf.tensor4d(uniform(b * h * tq * tk, 8), [b, h, tq, tk]);
        const mask = makeMask?.();
        const inputs = mask ? [scores, mask] : [scores];
        const grads = (f: typeof composed) =>
          tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0]!, Math.sqrt(8), t[1]), dy)))(inputs);
        const [ours, taped] = [
          scaledMaskedSoftmax(scores, Math.sqrt(8), mask),
          composed(scores, Math.sqrt(8), mask),
        ];
        expect(Array.from(await ours.data())).toEqual(Array.from(await taped.data()));
        const [g, gt] = [grads(scaledMaskedSoftmax), grads(composed)];
        for (let i = 0; i < inputs.length; i++) {
          expect(g[i]!.shape).toEqual(inputs[i]!.shape);
          const [a, e] = [await g[i]!.data(), await gt[i]!.data()];
          expect(a.every(Number.isFinite)).toBe(true);
          expect(maxAbsDiff(a, e)).toBeLessThan(1e-5);
        }
        tf.dispose([scores, dy, ...(mask ? [mask] : []), ours, taped, ...g, ...gt]);
      }, 'scaledMaskedSoftmax');
    },
  );

  it('hand values: uniform scores, one key masked, and a fully masked row', async () => {
    await expectNoLeaks(async () => {
      // Row 0: scores 0, key 2 masked → p = [½, ½, 0]; row 1: every key −∞ → clamped → p = [⅓, ⅓, ⅓].
      const scores = tf.zeros([1, 1, 2, 3]);
      const mask = tf.tensor4d([0, 0, -Infinity, -Infinity, -Infinity, -Infinity], [1, 1, 2, 3]);
      const dy = tf.tensor4d([1, 0, 0, 1, 0, 0], [1, 1, 2, 3]);
      const p = scaledMaskedSoftmax(scores, 2, mask);
      const [ds, dm] = tf.grads((s: tf.Tensor, m: tf.Tensor) =>
        tf.sum(tf.mul(scaledMaskedSoftmax(s, 2, m), dy)),
      )([scores, mask]);
      // d logits = p ⊙ (dy − Σ dy ⊙ p): row 0 [¼, −¼, 0], row 1 [2/9, −1/9, −1/9]; d scores = that / 2.
      const near = (got: ArrayLike<number>, want: number[]) =>
        expect(maxAbsDiff(got, want)).toBeLessThan(1e-7);
      near(await p.data(), [0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3]);
      near(await ds!.data(), [0.125, -0.125, 0, 1 / 9, -1 / 18, -1 / 18]);
      // The mask's gradient stops where it sits below the floor (the clamped −∞ row), as tf.maximum's does.
      near(await dm!.data(), [0.25, -0.25, 0, 0, 0, 0]);
      tf.dispose([scores, mask, dy, p, ds!, dm!]);
    }, 'scaledMaskedSoftmax hand values');
  });

  it('keeps one [b, h, tq, tk] tensor for the backward where the taped ops keep three', async () => {
    const shape = [4, 4, 64, 64];
    const scores = tf.randomNormal(shape);
    const mask = tf.zeros([4, 1, 1, 64]);
    const peak = async (f: typeof composed) =>
      (
        await tf.profile(() => {
          const [g] = tf.grads((s: tf.Tensor) => tf.sum(f(s, 8, mask)))([scores]);
          g!.dispose();
        })
      ).peakBytes;
    const bytes = scores.size * 4;
    const [taped, ours] = [await peak(composed), await peak(scaledMaskedSoftmax)];
    // The taped ops also keep the raw and the scaled scores (2 × bytes) until their backward; the mask's
    // gradient adds a few mask-sized temporaries to ours.
    expect(taped).toBeGreaterThanOrEqual(ours + 2 * bytes - 8 * mask.size * 4);
    tf.dispose([scores, mask]);
  });
});
