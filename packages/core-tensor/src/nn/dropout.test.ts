import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { backendsUnderTest, expectNoLeaks } from '../testing.js';
import { Dropout } from './layers.js';

const backends = await backendsUnderTest();

describe.each(backends)('Dropout on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('zeroes about rate of the elements, scales the rest by 1/(1-rate), and its gradient is the mask', async () => {
    await expectNoLeaks(async () => {
      const rate = 0.25;
      const drop = new Dropout(rate);
      drop.train();
      const x = tf.tidy(() => tf.reshape(tf.add(tf.range(0, 4096), 1), [64, 64]));
      const dy = tf.fill([64, 64], 3);
      let y: tf.Tensor | undefined;
      const [dx] = tf.grads((t: tf.Tensor) => {
        const out = drop.forward(t);
        y = tf.keep(out.clone());
        return tf.sum(tf.mul(out, dy));
      })([x]);
      const [xv, yv, dv] = await Promise.all([x.data(), y!.data(), dx!.data()]);
      let dropped = 0;
      for (let i = 0; i < xv.length; i++) {
        const kept = yv[i] !== 0;
        if (!kept) dropped++;
        // tf.dropout's multiplier: floor(u + keep) / keep, computed the same way in float32.
        expect(yv[i]).toBe(kept ? Math.fround(xv[i]! * Math.fround(1 / 0.75)) : 0);
        expect(dv[i]).toBe(kept ? Math.fround(3 * Math.fround(1 / 0.75)) : 0);
      }
      expect(dropped / xv.length).toBeGreaterThan(0.2);
      expect(dropped / xv.length).toBeLessThan(0.3);
      drop.eval();
      expect(drop.forward(x)).toBe(x);
      tf.dispose([x, dy, y!, dx!]);
    }, 'Dropout');
  });

  it('keeps less for the backward than tf.dropout', async () => {
    const x = tf.ones([128, 256]);
    const drop = new Dropout(0.1);
    drop.train();
    const peak = async (f: (t: tf.Tensor) => tf.Tensor) =>
      (
        await tf.profile(() => {
          const [g] = tf.grads((t: tf.Tensor) => tf.sum(f(t)))([x]);
          g!.dispose();
        })
      ).peakBytes;
    const bytes = x.size * 4;
    // tf.dropout keeps its noise, floored mask and multiplier (3 × bytes); ours a bool mask (bytes / 4).
    expect(await peak((t) => tf.dropout(t, 0.1))).toBeGreaterThanOrEqual(
      (await peak((t) => drop.forward(t))) + 2 * bytes,
    );
    x.dispose();
  });
});
