/**
 * Trains a small ViT on MNIST from scratch and saves it as a Hugging Face model folder.
 *
 *   pnpm --filter @attn/vit mnist      (or, from packages/vit: npx tsx --conditions=@attn/source examples/mnist.ts)
 *
 * Options: --epochs N (default 20), --batch N (default 32), --lr X (default 1e-3), --out DIR (default packages/vit/examples/out/mnist-vit),
 *          --backend cpu|wasm (default wasm), --seed N (default 0), --limit N (train on N evenly spaced images only),
 *          --init DIR (continue from a saved model folder), --warmup N (default 200 steps),
 *          --validation (hold out the last 10 % of each digit's TRAINING images and report accuracy on them
 *          instead of on the test digits: for choosing a recipe without looking at the test split).
 * The data is the npm `mnist` package (10,000 digits): per digit, the first 90 % train, the last 10 % test.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, setSeed } from '@attn/core-tensor';
import {
  type EpochStats,
  type ImageDataset,
  pipeline,
  toRgb,
  trainImageClassifier,
  ViTConfig,
  ViTForImageClassification,
  ViTImageProcessor,
  writeTrainingCurves,
} from '../src/index.js';
import { randomAffine } from '../src/train/augment.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '20' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '1e-3' },
    out: { type: 'string', default: join(here, 'out', 'mnist-vit') },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '0' },
    limit: { type: 'string' },
    init: { type: 'string' },
    warmup: { type: 'string', default: '200' },
    validation: { type: 'boolean', default: false },
  },
});
const out = resolve(args.out);
const seed = Number(args.seed);

// MNIST statistics; a white digit on a black background, like the training data.
const MEAN = 0.1307;
const STD = 0.3081;
const processor = new ViTImageProcessor({
  do_resize: true,
  size: { height: 28, width: 28 },
  resample: 2,
  image_mean: [MEAN, MEAN, MEAN],
  image_std: [STD, STD, STD],
});

/** The npm `mnist` digits (floats 0..1, 3 decimals) → uint8 grey → exactly what ViTImageProcessor makes of a PNG. */
function loadMnist(validation: boolean): { train: ImageDataset; test: ImageDataset } {
  const digits = createRequire(import.meta.url)('mnist') as { raw: number[]; length: number }[];
  const split = { train: [] as [number[], number, number][], test: [] as [number[], number, number][] };
  for (let d = 0; d < 10; d++) {
    const n = digits[d].length;
    const nTrain = Math.round(n * 0.9);
    // With --validation the test digits are left out; the evaluation set is cut from the training ones.
    const [end, nFit] = validation ? [nTrain, Math.round(nTrain * 0.9)] : [n, nTrain];
    for (let i = 0; i < end; i++) (i < nFit ? split.train : split.test).push([digits[d].raw, i, d]);
  }
  const build = (items: [number[], number, number][]): ImageDataset => {
    const per = 3 * 28 * 28;
    const pixels = new Float32Array(items.length * per);
    const labels = new Int32Array(items.length);
    items.forEach(([raw, i, d], k) => {
      const grey = Uint8Array.from(raw.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
      processor.processRgb(
        toRgb({ data: grey, width: 28, height: 28, channels: 1 }, 'mnist'),
        pixels.subarray(k * per, (k + 1) * per),
      );
      labels[k] = d;
    });
    return { pixels, labels, shape: [3, 28, 28] };
  };
  return { train: build(split.train), test: build(split.test) };
}

const backend = await initBackend(args.backend as 'cpu' | 'wasm');
setSeed(seed);
const data = loadMnist(args.validation);
const evalName = args.validation ? 'validation' : 'test';
if (args.limit) {
  // Evenly spaced images, so that all ten digits stay in (the training set is ordered by digit).
  const total = data.train.labels.length;
  const n = Math.min(Number(args.limit), total);
  const pick = Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
  const pixels = new Float32Array(n * 3 * 784);
  for (const [i, j] of pick.entries())
    pixels.set(data.train.pixels.subarray(j * 3 * 784, (j + 1) * 3 * 784), i * 3 * 784);
  data.train = { ...data.train, pixels, labels: Int32Array.from(pick, (j) => data.train.labels[j]) };
}
const config = ViTConfig.from({
  architectures: ['ViTForImageClassification'],
  hidden_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 128,
  image_size: 28,
  patch_size: 7,
  num_channels: 3,
  // HF's default 0.02 makes the first epochs crawl (queries/keys near 0 → uniform attention → [CLS] sees
  // only the mean patch); 0.1 learns several times faster early on (measured, see README).
  initializer_range: 0.1,
  id2label: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), String(i)])),
});
const model = args.init
  ? await ViTForImageClassification.fromPretrained(resolve(args.init))
  : new ViTForImageClassification(config);
const nParams = model.parameters().reduce((s, p) => s + p.variable.size, 0);
console.log(
  `backend ${backend.name}; train ${data.train.labels.length}, ${evalName} ${data.test.labels.length}; ${nParams} parameters; → ${out}`,
);
await processor.save(out);

const started = Date.now();
const seen: EpochStats[] = [];
const history = await trainImageClassifier(model, data, {
  epochs: Number(args.epochs),
  batchSize: Number(args.batch),
  lr: Number(args.lr),
  warmupSteps: Number(args.warmup),
  weightDecay: 0.05,
  labelSmoothing: 0.1,
  // Handwriting varies in slant, size and position: rotate ±15°, scale ±15 %, shift ±2 px (sub-pixel).
  augment: randomAffine({ maxDegrees: 15, maxScale: 0.15, maxShift: 2 }, [
    -MEAN / STD,
    -MEAN / STD,
    -MEAN / STD,
  ]),
  seed,
  checkpointDir: out,
  progressEvery: 50,
  onStep: (p) =>
    console.log(`  step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)}`),
  onEpoch: async (s) => {
    console.log(
      `epoch ${s.epoch}: train loss ${s.trainLoss.toFixed(4)} acc ${(100 * s.trainAccuracy).toFixed(2)}% | ${evalName} acc ${(100 * (s.testAccuracy ?? 0)).toFixed(2)}% | ${s.seconds.toFixed(0)} s`,
    );
    seen.push(s);
    await writeFile(join(out, 'training_history.json'), `${JSON.stringify(seen, null, 1)}\n`);
  },
});
await writeTrainingCurves(history, join(out, 'training_curves.png'), `ViT on MNIST (${nParams} parameters)`);
await writeFile(join(out, 'training_history.json'), `${JSON.stringify(history, null, 1)}\n`);

// The saved folder is a plain HF model: PNGs of test digits go through ViTImageProcessor and the pipeline.
const sharp = (await import('sharp')).default;
const classify = await pipeline('image-classification', out, { topK: 1 });
const digits = createRequire(import.meta.url)('mnist') as { raw: number[]; length: number }[];
let pngCorrect = 0;
for (let d = 0; d < 10; d++) {
  const i = digits[d].length - 1; // the last sample of each digit is in the test split
  const grey = Uint8Array.from(digits[d].raw.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
  const file = join(out, 'samples', `digit-${d}.png`);
  await mkdir(join(out, 'samples'), { recursive: true });
  await sharp(grey, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(file);
  const [top] = (await classify(file)) as { label: string; score: number }[];
  if (top.label === String(d)) pngCorrect++;
  console.log(`  ${file}: ${top.label} (${(100 * top.score).toFixed(1)}%)`);
}
classify.dispose();
console.log(`PNG round trip: ${pngCorrect}/10 digits classified correctly`);
const last = history[history.length - 1];
console.log(
  `done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${evalName} accuracy ${(100 * (last.testAccuracy ?? 0)).toFixed(2)}%; saved to ${out}`,
);
model.dispose();
