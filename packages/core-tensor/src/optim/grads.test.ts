import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { Linear } from '../nn/layers.js';
import { deterministicValues, expectNoLeaks } from '../testing.js';
import { variableGradsFreeing } from './grads.js';

describe('variableGradsFreeing', () => {
  beforeAll(() => initBackend('cpu'));

  // Two layers, a shared input used twice (gradients summed), a branch that does not reach the loss, a
  // non-float input (the mask), reshapes and broadcasting: the paths where freeing early could go wrong.
  const setup = () => {
    const l1 = new Linear(6, 5);
    const l2 = new Linear(5, 3);
    const x = tf.tensor3d(deterministicValues(2 * 4 * 6, 1), [2, 4, 6]);
    const mask = tf.tensor2d([1, 1, 0, 1, 1, 0, 1, 1], [2, 4], 'int32');
    const vars = [...l1.parameters(), ...l2.parameters()].map((p) => p.variable);
    const loss = () => {
      const h = l1.forward(x);
      const a = tf.mul(h, tf.sigmoid(h)); // h used twice
      tf.sum(l2.forward(tf.exp(a))); // a dead branch
      const y = l2.forward(a);
      const m = tf.expandDims(tf.cast(mask, 'float32'), -1);
      return tf.mean(tf.mul(tf.square(y), m)) as tf.Scalar;
    };
    return { l1, l2, x, mask, vars, loss };
  };

  it('gives exactly tf.variableGrads for every variable, and leaks nothing', async () => {
    const s = setup();
    const ref = tf.variableGrads(s.loss, s.vars);
    const got = await expectNoLeaks(() => {
      const r = variableGradsFreeing(s.loss, s.vars);
      const out = {
        value: r.value.dataSync()[0],
        grads: Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k, Array.from(g.dataSync())])),
      };
      tf.dispose([r.value, ...Object.values(r.grads)]);
      return out;
    }, 'variableGradsFreeing');
    expect(got.value).toBe(ref.value.dataSync()[0]);
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const [k, g] of Object.entries(ref.grads)) expect(got.grads[k]).toEqual(Array.from(g.dataSync()));
    tf.dispose([ref.value, ...Object.values(ref.grads), s.x, s.mask]);
    s.l1.dispose();
    s.l2.dispose();
  });

  it('frees what ops off the path saved before the backward starts', () => {
    const n = 64 * 1024;
    const c = tf.fill([n], 0.5);
    const w = tf.variable(tf.fill([n], 2));
    let during = 0;
    // Identity whose gradient, the last one the backward runs, reads how many bytes are alive then.
    const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(args[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        during = tf.memory().numBytes;
        return tf.clone(dy);
      },
    }));
    const before = tf.memory().numBytes;
    const { value, grads } = variableGradsFreeing(() => {
      const b = tf.sqrt(tf.exp(c)); // off the path: Exp's output and Sqrt's input are saved, never read
      return tf.sum(tf.mul(probe(w), b)) as tf.Scalar;
    }, [w]);
    // Alive then: b (saved by the Multiply) and the gradient reaching the probe. exp(c) would be a third.
    expect(during - before).toBeLessThan(2.5 * n * 4);
    expect(grads[w.name]!.dataSync()[0]).toBeCloseTo(Math.sqrt(Math.exp(0.5)), 6);
    tf.dispose([value, ...Object.values(grads), c, w]);
  });

  it('holds less at its peak than tfjs, which keeps every gradient until the backward ends', async () => {
    const s = setup();
    const peak = async (fn: () => { value: tf.Scalar; grads: tf.NamedTensorMap }) => {
      const info = await tf.profile(() => {
        const r = fn();
        tf.dispose(Object.values(r.grads));
        return r.value;
      });
      tf.dispose(info.result as tf.Tensor);
      return info.peakBytes;
    };
    const ours = await peak(() => variableGradsFreeing(s.loss, s.vars));
    const theirs = await peak(() => tf.variableGrads(s.loss, s.vars));
    expect(ours).toBeLessThan(theirs);
    tf.dispose([s.x, s.mask]);
    s.l1.dispose();
    s.l2.dispose();
  });
});
