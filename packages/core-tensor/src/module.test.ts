import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend/init.js';
import { withDeferredInit } from './module.js';
import { setSeed } from './nn/init.js';
import { LayerNorm, Linear } from './nn/layers.js';

describe('withDeferredInit and loadStateDict({ release })', () => {
  beforeAll(() => initBackend('cpu'));

  it('a deferred module holds no tensors, yet reports its names and HF shapes', () => {
    const before = tf.memory().numTensors;
    const lin = withDeferredInit(() => new Linear(3, 2));
    expect(tf.memory().numTensors).toBe(before);
    expect(lin.namedParameters().map(([n, p]) => [n, p.externalShape])).toEqual([
      ['weight', [2, 3]],
      ['bias', [2]],
    ]);
    lin.dispose(); // nothing was computed: nothing to free, nothing computed on the way
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loading takes the checkpoint values (layout converted) and, with release, frees the inputs', async () => {
    const lin = withDeferredInit(() => new Linear(3, 2));
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]); // HF [out, in]
    const b = tf.tensor1d([0.5, -0.5]);
    const before = tf.memory().numTensors;
    lin.loadStateDict(
      new Map<string, tf.Tensor>([
        ['weight', w],
        ['bias', b],
      ]),
      { release: true },
    );
    // The module's 2 parameters took the place of the 2 inputs, which are freed.
    expect(tf.memory().numTensors).toBe(before);
    expect(w.isDisposed && b.isDisposed).toBe(true);
    expect(Array.from(await lin.weight.value.data())).toEqual([1, 4, 2, 5, 3, 6]); // kept as [in, out]
    const x = tf.tensor2d([[1, 0, -1]]);
    const count = tf.memory().numTensors;
    const y = lin.forward(x);
    expect(tf.memory().numTensors).toBe(count + 1); // its one output, nothing else
    expect(Array.from(await y.data())).toEqual([1 - 3 + 0.5, 4 - 6 - 0.5]); // x·Wᵀ + b by hand
    tf.dispose([x, y]);
    lin.dispose();
  });

  it('a parameter the checkpoint lacks gets the seeded initial value on first use, as without deferral', async () => {
    setSeed(7);
    const eager = new Linear(4, 3);
    setSeed(7);
    const lazy = withDeferredInit(() => new Linear(4, 3));
    expect(Array.from(await lazy.weight.value.data())).toEqual(Array.from(await eager.weight.value.data()));
    const ln = withDeferredInit(() => new LayerNorm(2));
    expect(Array.from(await ln.weight.value.data())).toEqual([1, 1]);
    for (const m of [eager, lazy, ln]) m.dispose();
  });
});
