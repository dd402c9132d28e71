import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../testing.js';
import { initBackend } from './init.js';

describe('wasm Identity shares the buffer (what tfjs clones to save tensors for the backward)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('tf.clone allocates no buffer, and the clone outlives its source with the same values', async () => {
    await expectNoLeaks(async () => {
      const x = tf.tensor2d([1.5, -2, 3, 4.25], [2, 2]);
      const buffers = tf.memory().numDataBuffers;
      const y = tf.clone(x);
      expect(tf.memory().numDataBuffers).toBe(buffers); // tfjs-backend-wasm's own Identity: buffers + 1
      x.dispose();
      expect(Array.from(await y.data())).toEqual([1.5, -2, 3, 4.25]);
      expect(y.shape).toEqual([2, 2]);
      y.dispose();
      expect(tf.memory().numDataBuffers).toBe(buffers - 1);
    }, 'tf.clone');
  });

  it('a clone keeps its values when the variable it came from is assigned', async () => {
    await expectNoLeaks(async () => {
      const init = tf.tensor1d([1, 2, 3]);
      const v = tf.variable(init);
      const c = tf.clone(v);
      const zeros = tf.zeros([3]) as tf.Tensor1D;
      v.assign(zeros);
      expect(Array.from(await c.data())).toEqual([1, 2, 3]);
      expect(Array.from(await v.data())).toEqual([0, 0, 0]);
      tf.dispose([init, v, c, zeros]);
    }, 'Variable.assign');
  });

  it('gradients read the saved (shared) inputs: d/dx Σ (x·x / 2 + reshape(x)) = x + 1, taped op by op', async () => {
    await expectNoLeaks(async () => {
      const x = tf.tensor2d([0.5, -1, 2, 3], [2, 2]);
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.add(tf.div(tf.mul(t, t), 2), tf.reshape(tf.reshape(t, [4]), [2, 2]))),
      )(x);
      expect(Array.from(await g.data())).toEqual([1.5, 0, 3, 4]);
      tf.dispose([x, g]);
    }, 'tf.grad');
  });

  it('the tape holds one buffer per saved tensor, not one per op that saves it', () => {
    const x = tf.ones([64, 64]);
    // Square, Multiply and Reshape each save x; with copies that is three more buffers during the backward.
    const before = tf.memory().numDataBuffers;
    let during = 0;
    const g = tf.grad((t: tf.Tensor) => {
      const y = tf.sum(
        tf.add(tf.add(tf.square(t), tf.mul(t, t)), tf.reshape(tf.reshape(t, [4096]), [64, 64])),
      );
      during = tf.memory().numDataBuffers - before;
      return y;
    })(x);
    // square, mul, add, add, reshape output shares its input, sum: 5 new buffers for the values alone.
    expect(during).toBeLessThanOrEqual(5);
    tf.dispose([x, g]);
  });
});
