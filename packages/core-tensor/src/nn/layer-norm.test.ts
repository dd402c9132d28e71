import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { backendsUnderTest, deterministicValues, expectNoLeaks } from '../testing.js';
import { LayerNorm, layerNorm } from './layers.js';

/** LayerNorm as tfjs tapes it op by op: what the custom gradient must equal. */
const composed = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number) =>
  tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, gamma), beta);
  });

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.each(await backendsUnderTest())('LayerNorm on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each([
    [[3, 5, 16], 1e-12],
    [[7, 32], 1e-5],
    [[8], 1e-6],
  ] as [number[], number][])(
    '%j eps %s: the taped ops’ values, and gradients for x, γ, β to 1e-5',
    async (shape, eps) => {
      await expectNoLeaks(async () => {
        const dim = shape[shape.length - 1]!;
        const n = shape.reduce((a, b) => a * b, 1);
        // Rows with offsets and scales far from 0 and 1, so μ and σ matter.
        const x = tf.tensor(
          deterministicValues(n, 1, 3).map((v, i) => v + (i % 5) - 2),
          shape,
        );
        const gamma = tf.tensor1d(deterministicValues(dim, 2).map((v) => 1 + v));
        const beta = tf.tensor1d(deterministicValues(dim, 3));
        const dy = tf.tensor(deterministicValues(n, 4), shape);
        const [ours, taped] = [layerNorm(x, gamma, beta, eps), composed(x, gamma, beta, eps)];
        expect(Array.from(await ours.data())).toEqual(Array.from(await taped.data()));
        const grads = (f: typeof composed) =>
          tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b, eps), dy)))([
            x,
            gamma,
            beta,
          ]);
        const [g, gt] = [grads(layerNorm), grads(composed)];
        for (let i = 0; i < 3; i++) {
          expect(g[i]!.shape).toEqual(gt[i]!.shape);
          expect(maxAbsDiff(await g[i]!.data(), await gt[i]!.data())).toBeLessThan(1e-5);
        }
        tf.dispose([x, gamma, beta, dy, ours, taped, ...g, ...gt]);
      }, 'layerNorm');
    },
  );

  it('hand values: x = [0, 1, 2], γ = 1, β = 0, dy = [1, 0, 0]', async () => {
    await expectNoLeaks(async () => {
      const ln = new LayerNorm(3);
      const x = tf.tensor2d([[0, 1, 2]]);
      const dy = tf.tensor2d([[1, 0, 0]]);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(ln.forward(t), dy));
      const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [ln.weight.value, ln.bias.value]);
      const dx = tf.grad(f)(x);
      // μ = 1, σ = √(2/3), x̂ = [−√1.5, 0, √1.5]; g = dy: dx = (g − ⅓ − x̂·mean(g·x̂)) / σ = [⅙, −⅓, ⅙]·√1.5.
      const s = Math.sqrt(1.5);
      expect(maxAbsDiff(await dx.data(), [s / 6, -s / 3, s / 6])).toBeLessThan(1e-6);
      expect(maxAbsDiff(await value.data(), [-s])).toBeLessThan(1e-6);
      expect(maxAbsDiff(await grads[ln.weight.value.name]!.data(), [-s, 0, 0])).toBeLessThan(1e-6);
      expect(Array.from(await grads[ln.bias.value.name]!.data())).toEqual([1, 0, 0]);
      tf.dispose([x, dy, dx, value, ...Object.values(grads)]);
      ln.dispose();
    }, 'LayerNorm hand values');
  });

  it('keeps x̂ and 1/σ for the backward where the taped ops keep five tensors of x’s size', async () => {
    const x = tf.randomNormal([64, 128, 64]);
    const gamma = tf.ones([64]);
    const beta = tf.zeros([64]);
    const peak = async (f: typeof composed) =>
      (
        await tf.profile(() => {
          const [g] = tf.grads((t: tf.Tensor) => tf.sum(f(t, gamma, beta, 1e-12)))([x]);
          g!.dispose();
        })
      ).peakBytes;
    const [taped, ours] = [await peak(composed), await peak(layerNorm)];
    // The saved x, x − μ (twice), (x − μ)² and x̂ alone are 3 × x more than ours; tfjs's backward adds more.
    expect(taped).toBeGreaterThanOrEqual(ours + 2 * x.size * 4);
    tf.dispose([x, gamma, beta]);
  });
});
