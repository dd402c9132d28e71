import { initBackend, tf } from '@attn/core-tensor';
import { backendsUnderTest, expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { activation, gelu } from './activations.js';

const XS = [-4, -2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3];
const SQRT1_2 = Math.SQRT1_2;

/** erf to ~1e-7 (Abramowitz & Stegun 7.1.26 is too coarse; this is the series / continued fraction). */
function erf(x: number): number {
  const t = Math.abs(x);
  let sum = t;
  let term = t;
  for (let n = 1; n < 200; n++) {
    term *= (-t * t) / n;
    sum += term / (2 * n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
}
/** PyTorch's GELU backward (aten gelu_backward, approximate='none'): Φ(x) + x·φ(x). */
const geluGrad = (x: number) =>
  0.5 * (1 + erf(x * SQRT1_2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

const backends = await backendsUnderTest();

describe.each(backends)('gelu on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it("has the formula's value and PyTorch's analytic gradient", async () => {
    await expectNoLeaks(async () => {
      const x = tf.tensor1d(XS);
      const w = tf.tensor1d(XS.map((_, i) => 1 + i / 4));
      const y = gelu(x);
      const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), w)))([x]);
      const yv = await y.data();
      const dv = await dx!.data();
      for (const [i, v] of XS.entries()) {
        expect(yv[i]).toBeCloseTo(0.5 * v * (1 + erf(v * SQRT1_2)), 6);
        expect(dv[i]).toBeCloseTo((1 + i / 4) * geluGrad(v), 5);
      }
      expect(activation('gelu')).toBe(gelu);
      tf.dispose([x, w, y, dx!]);
    }, 'gelu');
  });

  it('keeps only its input for the backward', async () => {
    const x = tf.randomNormal([64, 256], 0, 1, 'float32', 7);
    const composed = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, SQRT1_2)), 1));
    const peak = async (f: (t: tf.Tensor) => tf.Tensor) => {
      const info = await tf.profile(() => {
        const [g] = tf.grads((t: tf.Tensor) => tf.sum(f(t)))([x]);
        g!.dispose();
      });
      return info.peakBytes;
    };
    const bytes = x.size * 4;
    // The taped formula holds four more tensors of x's size until its backward.
    expect(await peak(composed)).toBeGreaterThanOrEqual((await peak(gelu)) + 3 * bytes);
    x.dispose();
  });
});
