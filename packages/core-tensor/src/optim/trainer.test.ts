import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { Linear } from '../nn/layers.js';
import { expectNoLeaks } from '../testing.js';
import { type TrainProgress, train } from './trainer.js';

// y = w·x + b with w = 2, b = 0 to start: every loss below follows from that by hand.
function line() {
  const lin = new Linear(1, 1);
  const sd = new Map<string, tf.Tensor>([
    ['weight', tf.tensor2d([[2]])],
    ['bias', tf.tensor1d([0])],
  ]);
  lin.loadStateDict(sd);
  tf.dispose([...sd.values()]);
  return lin;
}
type Batch = { x: number[]; y: number[] };
/** Mean squared error; `hits` counts predictions within 0.5 of the target. */
const mse = (lin: Linear) => (b: Batch) => {
  const pred = tf.reshape(lin.forward(tf.tensor2d(b.x, [b.x.length, 1])), [-1]);
  const err = tf.sub(pred, tf.tensor1d(b.y));
  return {
    loss: tf.mean(tf.square(err)) as tf.Scalar,
    size: b.x.length,
    totals: { hits: tf.sum(tf.cast(tf.less(tf.abs(err), 0.5), 'float32')) as tf.Scalar },
  };
};
const weights = (lin: Linear) => [lin.weight.variable.dataSync()[0]!, lin.bias!.variable.dataSync()[0]!];

const tmp = mkdtempSync(join(tmpdir(), 'attn-core-train-'));
beforeAll(() => initBackend('cpu'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('train(): the one training loop', () => {
  it('counts epochs from 1, averages accumulated batches, weights the epoch loss by batch size', async () => {
    // lr 0 keeps w = 2, b = 0: batch [1, 2] → [2, 4] is exact (loss 0, 2 hits), batch [3] → 0 misses by 6 (loss 36).
    const lin = line();
    const steps: TrainProgress[] = [];
    const epochsSeen: number[] = [];
    const history = await expectNoLeaks(
      () =>
        train<Batch>({
          model: lin,
          loss: mse(lin),
          batches: (epoch) => {
            epochsSeen.push(epoch);
            return [
              { x: [1, 2], y: [2, 4] },
              { x: [3], y: [0] },
            ];
          },
          batchesPerEpoch: 2,
          epochs: 2,
          learningRate: 1,
          schedule: () => 0,
          gradientAccumulationSteps: 2,
          evaluate: (epoch) => ({ evaluatedAt: epoch }),
          onProgress: (p) => steps.push(p),
        }),
      'train',
    );
    expect(epochsSeen).toEqual([1, 2]);
    expect(steps.map((s) => [s.epoch, s.step, s.totalSteps, s.loss, s.lr])).toEqual([
      [1, 1, 2, 18, 0], // one optimizer step per epoch: the mean of the two batch losses
      [2, 2, 2, 18, 0],
    ]);
    // Gradients of the batch means: batch 1 is exact (0, 0); batch 3 → 0 gives d/dw = 2·6·3 = 36, d/db = 12.
    // Accumulation averages them, (18, 6), whose norm √360 is reported before clipping.
    expect(steps[0]!.gradNorm).toBeCloseTo(Math.sqrt(360), 3);
    expect(history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(history[0]!.trainLoss).toBeCloseTo((0 * 2 + 36 * 1) / 3, 5);
    expect(history[0]!.metrics).toEqual({ hits: 2 / 3, evaluatedAt: 1 });
    expect(weights(lin)).toEqual([2, 0]);
    lin.dispose();
  });

  it("steps on an epoch's last micro-batches even when fewer than the accumulation", async () => {
    const lin = line();
    const steps: TrainProgress[] = [];
    await train<Batch>({
      model: lin,
      loss: mse(lin),
      batches: () => [
        { x: [1, 2], y: [2, 4] },
        { x: [3], y: [0] },
        { x: [3], y: [0] },
      ],
      batchesPerEpoch: 3,
      epochs: 1,
      learningRate: 1,
      schedule: () => 0,
      gradientAccumulationSteps: 2,
      onProgress: (p) => steps.push(p),
    });
    expect(steps.map((s) => [s.step, s.totalSteps, s.loss])).toEqual([
      [1, 2, 18],
      [2, 2, 36],
    ]);
    // The lone last batch is its own mean: (36, 12), not halved.
    expect(steps[1]!.gradNorm).toBeCloseTo(Math.sqrt(36 ** 2 + 12 ** 2), 3);
    lin.dispose();
  });

  it('takes AdamW steps at the schedule rate, with decay on the weight only', async () => {
    // AdamW's first step moves each parameter by lr·m̂/(√v̂ + ε) = lr·sign(g) (clipping keeps the sign);
    // the weight first decays: 2·(1 − 0.1·0.01) = 1.998. Both gradients (36, 12) are positive.
    const lin = line();
    await train<Batch>({
      model: lin,
      loss: mse(lin),
      batches: () => [{ x: [3], y: [0] }],
      batchesPerEpoch: 1,
      epochs: 1,
      learningRate: 0.1,
      schedule: (step, total) => (step === 0 && total === 1 ? 0.1 : Number.NaN),
    });
    const [w, b] = weights(lin);
    expect(w).toBeCloseTo(1.998 - 0.1, 5);
    expect(b).toBeCloseTo(-0.1, 5);
    lin.dispose();
  });

  it('checkpoints a model without save() as model.safetensors, and resumes to the identical result', async () => {
    const run = (lin: Linear, checkpointDir?: string, stopAfterEpochs?: number) =>
      train<Batch>({
        model: lin,
        loss: mse(lin),
        batches: (epoch) => [
          { x: [1, epoch], y: [0, 1] },
          { x: [-1], y: [1] },
        ],
        batchesPerEpoch: 2,
        epochs: 4,
        learningRate: 0.05,
        checkpointDir,
        stopAfterEpochs,
      });
    const straight = line();
    const history = await run(straight);
    const dir = join(tmp, 'resume');
    const first = line();
    await run(first, dir, 2);
    first.dispose();
    expect(readdirSync(dir)).toEqual(['checkpoint-2']);
    expect(readdirSync(join(dir, 'checkpoint-2')).sort()).toEqual([
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    // A checkpoint written while epochs counted from 0 still resumes, renumbered.
    const statePath = join(dir, 'checkpoint-2', 'trainer_state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    expect(state.history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2]);
    state.history.forEach((h: { epoch: number }, i: number) => {
      h.epoch = i;
    });
    writeFileSync(statePath, JSON.stringify(state));
    const resumed = line();
    const resumedHistory = await run(resumed, dir);
    expect(resumedHistory.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(resumedHistory.map((h) => h.trainLoss)).toEqual(history.map((h) => h.trainLoss));
    expect(weights(resumed)).toEqual(weights(straight));
    expect(weights(straight)).not.toEqual([2, 0]);
    expect(readdirSync(dir)).toEqual(['checkpoint-4']);
    straight.dispose();
    resumed.dispose();
  });
});
