import {
  crossEntropy,
  type EpochReport,
  Random,
  registerGradients,
  train as runTraining,
  tf,
  warmupCosine,
} from '@attn/core-tensor';
import type { ViTForImageClassification } from '../model.js';

/** Preprocessed images (ViTImageProcessor output) and their class indices, in memory. */
export interface ImageDataset {
  /** [n, C, H, W] float32, flattened. */
  pixels: Float32Array;
  labels: Int32Array;
  /** [C, H, W] of one image. */
  shape: [number, number, number];
}

/** Changes a batch in place before the step (training only): `pixels` is [n, C, H, W] flattened. */
export type AugmentFn = (
  pixels: Float32Array,
  shape: [number, number, number],
  n: number,
  random: () => number,
) => void;

export interface StepProgress {
  /** Counted from 1, as EpochStats.epoch. */
  epoch: number;
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
}

export interface EpochStats {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** On `data.test`, when given. */
  testAccuracy?: number;
  seconds: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  /** Peak learning rate (after warm-up). Default 1e-3. */
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  /** Global-norm gradient clipping. Default 1. */
  clipNorm?: number;
  augment?: AugmentFn;
  seed?: number;
  /** Called every `progressEvery` steps (default 10). */
  onStep?: (p: StepProgress) => void;
  progressEvery?: number;
  onEpoch?: (s: EpochStats) => void | Promise<void>;
  /** After each epoch, the model is saved here (atomically, an HF folder). */
  checkpointDir?: string;
  /**
   * Resumable checkpoints: core-tensor's trainer writes `checkpoint-<epochs done>/` here (model, optimizer, and
   * the random stream's position) and a later call with the same options continues from the newest, ending
   * as an uninterrupted run would.
   */
  checkpoints?: string;
  /** Train only this many epochs in this call (the schedule still spans `epochs`); resume with `checkpoints`. */
  stopAfterEpochs?: number;
  signal?: AbortSignal;
}

/** @deprecated use core-tensor's `Random` (`const r = new Random(seed); r.next()`): this wraps it. */
export function mulberry32(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

function gather(data: ImageDataset, idx: ArrayLike<number>): { x: Float32Array; y: Int32Array } {
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const x = new Float32Array(idx.length * per);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    x.set(data.pixels.subarray(idx[i] * per, (idx[i] + 1) * per), i * per);
    y[i] = data.labels[idx[i]];
  }
  return { x, y };
}

/** Top-1 accuracy of the model (eval mode) on a dataset. */
export async function evaluateAccuracy(
  model: ViTForImageClassification,
  data: ImageDataset,
  batchSize = 256,
): Promise<number> {
  const n = data.labels.length;
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  for (let s = 0; s < n; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
    const { x, y } = gather(data, idx);
    const pred = tf.tidy(() => {
      const pixels = tf.tensor4d(x, [idx.length, ...data.shape]);
      return tf.argMax(model.forward(pixels).logits, -1);
    });
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < idx.length; i++) if (p[i] === y[i]) correct++;
  }
  model.train(wasTraining);
  return correct / n;
}

/**
 * Supervised training of a ViT classifier on core-tensor's training loop: AdamW with linear warm-up + cosine
 * decay, label smoothing, gradient clipping, optional augmentation, progress callbacks and an HF folder saved
 * after every epoch. What is ViT's own here is the batch (a seeded shuffle, then augmentation) and its loss.
 * Returns the per-epoch statistics (the loss/accuracy curves).
 */
export async function trainImageClassifier(
  model: ViTForImageClassification,
  data: { train: ImageDataset; test?: ImageDataset },
  opts: TrainOptions,
): Promise<EpochStats[]> {
  await registerGradients();
  const { train } = data;
  const n = train.labels.length;
  const batchSize = opts.batchSize ?? 64;
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const peak = opts.lr ?? 1e-3;
  const warmup = opts.warmupSteps ?? Math.min(200, Math.floor((batchesPerEpoch * opts.epochs) / 10));
  const numLabels = model.config.numLabels;
  // One stream for the shuffles and the augmentation, drawn in batch order, so a seed fixes the whole run.
  let random = new Random(opts.seed ?? 0);
  const draw = () => random.next();
  function* batches() {
    const order = random.shuffle(Array.from({ length: n }, (_, i) => i));
    for (let s = 0; s < n; s += batchSize) {
      const batch = gather(train, order.slice(s, s + batchSize));
      opts.augment?.(batch.x, train.shape, batch.y.length, draw);
      yield batch;
    }
  }
  const stats = (r: EpochReport): EpochStats => ({
    epoch: r.epoch,
    trainLoss: r.trainLoss,
    trainAccuracy: r.metrics.trainAccuracy!,
    ...(r.metrics.testAccuracy === undefined ? {} : { testAccuracy: r.metrics.testAccuracy }),
    seconds: r.seconds,
  });
  const history = await runTraining({
    model,
    batches,
    batchesPerEpoch,
    loss: ({ x, y }) => {
      const labels = tf.tensor1d(y, 'int32');
      const logits = model.forward(tf.tensor4d(x, [y.length, ...train.shape])).logits;
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), labels), 'float32')) as tf.Scalar;
      return {
        loss: crossEntropy(logits, labels, { labelSmoothing: opts.labelSmoothing ?? 0 }),
        size: y.length,
        totals: { trainAccuracy: hits },
      };
    },
    epochs: opts.epochs,
    learningRate: peak,
    schedule: (step, total) => warmupCosine(step, total, peak, warmup),
    weightDecay: opts.weightDecay ?? 0.05,
    maxGradNorm: opts.clipNorm ?? 1,
    checkpointDir: opts.checkpoints,
    stopAfterEpochs: opts.stopAfterEpochs,
    extraState: {
      save: () => ({ random: random.position }),
      load: (saved) => {
        const at = (saved as { random?: number } | undefined)?.random;
        if (at !== undefined) random = new Random(at);
      },
    },
    signal: opts.signal,
    evaluate: async (): Promise<Record<string, number>> =>
      data.test ? { testAccuracy: await evaluateAccuracy(model, data.test) } : {},
    onProgress: (p) => {
      if (opts.onStep && (p.step % (opts.progressEvery ?? 10) === 0 || p.step === p.totalSteps))
        opts.onStep({ epoch: p.epoch, step: p.step, totalSteps: p.totalSteps, loss: p.loss, lr: p.lr });
    },
    onEpochEnd: async (r) => {
      if (opts.checkpointDir) await model.save(opts.checkpointDir);
      await opts.onEpoch?.(stats(r));
    },
  });
  return history.map(stats);
}
