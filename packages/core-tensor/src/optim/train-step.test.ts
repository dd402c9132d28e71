import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { Linear } from '../nn/layers.js';
import { expectNoLeaks } from '../testing.js';
import { GradientAccumulator } from './accumulate.js';
import { AdamW } from './adamw.js';
import { clipByGlobalNorm } from './clip.js';
import { trainStep } from './train-step.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** A Linear(3 → 2) with fixed weights, and a mean-squared-error loss on a fixed batch of 4. */
function setup() {
  const lin = new Linear(3, 2);
  const sd = new Map<string, tf.Tensor>([
    [
      'weight',
      tf.tensor2d([
        [0.2, -0.1, 0.4],
        [0.3, 0.5, -0.2],
      ]),
    ],
    ['bias', tf.tensor1d([0.05, -0.05])],
  ]);
  lin.loadStateDict(sd);
  tf.dispose([...sd.values()]);
  const x = tf.tensor2d([
    [1, 2, 3],
    [-1, 0.5, 2],
    [0, 1, -1],
    [2, -2, 1],
  ]);
  const y = tf.tensor2d([
    [1, 0],
    [0, 1],
    [0.5, 0.5],
    [-1, 2],
  ]);
  const loss = (rows?: [number, number]) => () =>
    tf.tidy(() => {
      const [xs, ys] = rows
        ? [tf.slice(x, [rows[0], 0], [rows[1], 3]), tf.slice(y, [rows[0], 0], [rows[1], 2])]
        : [x, y];
      return tf.mean(tf.square(tf.sub(lin.forward(xs), ys))) as tf.Scalar;
    });
  return { lin, loss, dispose: () => tf.dispose([x, y]) };
}

describe('clipByGlobalNorm', () => {
  it('scales every gradient by maxNorm / global norm, and leaves small ones alone', async () => {
    await expectNoLeaks(async () => {
      const grads = new Map([
        ['a', tf.tensor1d([3, 4])],
        ['b', tf.tensor1d([12])],
      ]);
      const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
      expect((await norm.data())[0]).toBeCloseTo(13, 5);
      expect([...(await clipped.get('a')!.data())]).toEqual([3, 4].map((v) => Math.fround(v / (13 + 1e-6))));
      const big = clipByGlobalNorm({ b: grads.get('b')! }, 100);
      expect(await big.grads.b!.data()).toEqual(new Float32Array([12]));
      tf.dispose([...grads.values(), ...clipped.values(), norm, big.grads.b!, big.norm]);
    }, 'clip');
  });
});

describe('trainStep', () => {
  it('equals variableGrads + clip + AdamW.step done by hand, and disposes everything', async () => {
    const a = setup();
    const b = setup();
    const optA = new AdamW(a.lin, { lr: 0.05 });
    const optB = new AdamW(b.lin, { lr: 0.05 });
    const before = tf.memory().numTensors;
    const res = await trainStep(a.lin, a.loss(), optA, { clipNorm: 0.5 });
    const stateTensors = 4; // exp_avg and exp_avg_sq for weight and bias, created on the first step
    expect(tf.memory().numTensors).toBe(before + stateTensors);

    const { value, grads } = tf.variableGrads(
      a.loss === b.loss ? a.loss() : b.loss(),
      b.lin.parameters().map((p) => p.variable),
    );
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 0.5);
    optB.step(clipped);
    expect(res.loss).toBeCloseTo((await value.data())[0]!, 6);
    expect(res.gradNorm).toBeCloseTo((await norm.data())[0]!, 6);
    expect(res.gradNorm).toBeGreaterThan(0.5); // so clipping was active
    expect(res.stepped).toBe(true);
    expect(await a.lin.weight.variable.data()).toEqual(await b.lin.weight.variable.data());
    tf.dispose([value, norm, ...Object.values(grads), ...Object.values(clipped)]);
    for (const s of [a, b]) {
      s.dispose();
      s.lin.dispose();
    }
    optA.dispose();
    optB.dispose();
  });

  it('accumulates two half-batches into the same update as the full batch, and training lowers the loss', async () => {
    const full = setup();
    const half = setup();
    const optFull = new AdamW(full.lin, { lr: 0.05, weightDecay: 0 });
    const optHalf = new AdamW(half.lin, { lr: 0.05, weightDecay: 0 });
    const acc = new GradientAccumulator(2);
    const first = await trainStep(full.lin, full.loss(), optFull);
    const r1 = await trainStep(half.lin, half.loss([0, 2]), optHalf, { accumulator: acc });
    expect(r1.stepped).toBe(false);
    const r2 = await trainStep(half.lin, half.loss([2, 2]), optHalf, { accumulator: acc });
    expect(r2.stepped).toBe(true);
    const [wf, wh] = [await full.lin.weight.variable.data(), await half.lin.weight.variable.data()];
    for (let i = 0; i < wf.length; i++) expect(wh[i]).toBeCloseTo(wf[i]!, 6);
    let last = first.loss;
    for (let i = 0; i < 30; i++) last = (await trainStep(full.lin, full.loss(), optFull)).loss;
    expect(last).toBeLessThan(first.loss / 2);
    for (const s of [full, half]) {
      s.dispose();
      s.lin.dispose();
    }
    for (const o of [optFull, optHalf, acc]) o.dispose();
  });

  it('disposes what it created when the optimizer rejects the gradients', async () => {
    const a = setup();
    const other = setup();
    const wrong = new AdamW(other.lin); // owns other parameters
    await expectNoLeaks(async () => {
      await expect(trainStep(a.lin, a.loss(), wrong, { clipNorm: 1 })).rejects.toThrow(/unknown parameter/);
    }, 'failed trainStep');
    for (const s of [a, other]) {
      s.dispose();
      s.lin.dispose();
    }
  });
});
