import { AdamW, clipByGlobalNorm, noDecayForBiasAndNorm, Random, registerGradients, tf } from '@attn/core-tensor';
import type { ViTForImageClassification } from '../model.js';
import { warmupCosine } from './schedule.js';

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
  signal?: AbortSignal;
}

/** Deterministic PRNG (core-tensor's mulberry32 `Random`) so shuffles and augmentation are reproducible from the seed. */
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
 * Supervised training of a ViT classifier: AdamW with linear warm-up + cosine decay, label smoothing,
 * gradient clipping, optional augmentation, progress callbacks and atomic per-epoch checkpoints.
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
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const peak = opts.lr ?? 1e-3;
  const warmup = opts.warmupSteps ?? Math.min(200, Math.floor(totalSteps / 10));
  const numLabels = model.config.numLabels;
  const random = mulberry32(opts.seed ?? 0);
  // Decoupled weight decay on weights, not on biases and LayerNorm (HF Trainer's rule).
  const optimizer = new AdamW(model, {
    lr: peak,
    weightDecay: opts.weightDecay ?? 0.05,
    decay: noDecayForBiasAndNorm,
  });
  const history: EpochStats[] = [];
  let step = 0;
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const started = Date.now();
      const order = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      model.train();
      let lossSum = 0;
      let correct = 0;
      for (let s = 0; s < n; s += batchSize) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('training aborted');
        const idx = order.subarray(s, Math.min(s + batchSize, n));
        const { x, y } = gather(train, idx);
        opts.augment?.(x, train.shape, idx.length, random);
        const lr = warmupCosine(step, totalSteps, peak, warmup);
        const { loss, hits } = tf.tidy(() => {
          const pixels = tf.tensor4d(x, [idx.length, ...train.shape]);
          const target = tf.oneHot(tf.tensor1d(y, 'int32'), numLabels);
          let logits: tf.Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            logits = tf.keep(model.forward(pixels).logits); // variableGrads would dispose it
            return tf.losses.softmaxCrossEntropy(
              target,
              logits,
              undefined,
              opts.labelSmoothing ?? 0,
            ) as tf.Scalar;
          }, optimizer.variables());
          optimizer.lr = lr;
          optimizer.step(clipByGlobalNorm(grads, opts.clipNorm ?? 1).grads);
          const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits!, -1), tf.tensor1d(y, 'int32')), 'int32'));
          logits!.dispose();
          return { loss: value, hits };
        });
        const [l, h] = [(await loss.data())[0], (await hits.data())[0]];
        tf.dispose([loss, hits]);
        lossSum += l * idx.length;
        correct += h;
        step++;
        if (opts.onStep && (step % (opts.progressEvery ?? 10) === 0 || step === totalSteps))
          opts.onStep({ epoch, step, totalSteps, loss: l, lr });
      }
      model.eval();
      const stats: EpochStats = {
        epoch: epoch + 1,
        trainLoss: lossSum / n,
        trainAccuracy: correct / n,
        ...(data.test ? { testAccuracy: await evaluateAccuracy(model, data.test) } : {}),
        seconds: (Date.now() - started) / 1000,
      };
      history.push(stats);
      if (opts.checkpointDir) await model.save(opts.checkpointDir);
      await opts.onEpoch?.(stats);
    }
  } finally {
    optimizer.dispose();
    model.eval();
  }
  return history;
}
