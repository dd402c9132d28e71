import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Random, setSeed, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViTConfig } from '../config.js';
import { ViTForImageClassification } from '../model.js';
import { randomTranslate } from './augment.js';
import { fineTuneImageClassifier, withNewLabels } from './finetune.js';
import { evaluateAccuracy, type ImageDataset, trainImageClassifier } from './train.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'vit-train-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** n uniform images [3, size, size] with a little brightness noise: class 1 is brighter than class 0. */
function synthetic(n: number, size: number, seed: number): ImageDataset {
  const random = new Random(seed);
  const per = 3 * size * size;
  const pixels = new Float32Array(n * per);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    pixels.fill(labels[i] - 0.5 + 0.2 * (random.next() - 0.5), i * per, (i + 1) * per);
  }
  return { pixels, labels, shape: [3, size, size] };
}

/** A one-layer ViT on 8 × 8 images, 2 × 2 patches of 4 px, telling dark from bright (no dropout, ViT's default). */
const toyConfig = () =>
  ViTConfig.from({
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    image_size: 8,
    patch_size: 4,
    id2label: { '0': 'dark', '1': 'bright' },
  });

describe('trainImageClassifier', () => {
  it('learns a toy task, reports progress, writes a checkpoint each epoch, leaks nothing', async () => {
    const model = new ViTForImageClassification(toyConfig());
    const data = { train: synthetic(64, 8, 1), test: synthetic(32, 8, 2) };
    const steps: number[] = [];
    const stepEpochs: number[] = [];
    const epochs: number[] = [];
    const before = tf.memory().numTensors;
    const ckpt = join(dir, 'toy');
    const history = await trainImageClassifier(model, data, {
      epochs: 6,
      batchSize: 16,
      lr: 3e-3,
      warmupSteps: 4,
      augment: randomTranslate(1, [0, 0, 0]),
      checkpointDir: ckpt,
      progressEvery: 4,
      onStep: (p) => {
        steps.push(p.step);
        stepEpochs.push(p.epoch);
      },
      onEpoch: (s) => {
        epochs.push(s.epoch);
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps).toEqual([4, 8, 12, 16, 20, 24]);
    expect(stepEpochs).toEqual([1, 2, 3, 4, 5, 6]); // 4 steps an epoch: the 4th of each is its last
    expect(history[5].trainLoss).toBeLessThan(history[0].trainLoss);
    expect(history[5].testAccuracy).toBe(1);
    expect((await readdir(ckpt)).sort()).toEqual(['config.json', 'model.safetensors']); // no temp files left
    const reloaded = await ViTForImageClassification.fromPretrained(ckpt);
    expect(await evaluateAccuracy(reloaded, data.test)).toBe(1);
    reloaded.dispose();
    model.dispose();
  });
});

describe('trainImageClassifier resumes', () => {
  it('from its checkpoints (model, optimizer, random stream) to the result of an uninterrupted run', async () => {
    const data = { train: synthetic(24, 8, 5) };
    const fresh = () => {
      setSeed(3);
      return new ViTForImageClassification(toyConfig());
    };
    // Augmentation draws from the same stream as the shuffles, so resuming must restore its position.
    const opts = {
      epochs: 3,
      batchSize: 8,
      lr: 3e-3,
      warmupSteps: 2,
      augment: randomTranslate(1, [0, 0, 0]),
    };
    const straight = fresh();
    const history = await trainImageClassifier(straight, data, opts);
    const checkpoints = join(dir, 'resume');
    const first = fresh();
    await trainImageClassifier(first, data, { ...opts, checkpoints, stopAfterEpochs: 1 });
    first.dispose();
    expect(await readdir(checkpoints)).toEqual(['checkpoint-1']);
    const resumed = fresh();
    const resumedHistory = await trainImageClassifier(resumed, data, { ...opts, checkpoints });
    expect(resumedHistory.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(resumedHistory.map((h) => h.trainLoss)).toEqual(history.map((h) => h.trainLoss));
    const a = straight.stateDict();
    const b = resumed.stateDict();
    for (const [name, t] of a)
      expect(Array.from(b.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
    tf.dispose([...a.values(), ...b.values()]);
    straight.dispose();
    resumed.dispose();
  });
});

describe.skipIf(!haveFixtures('ViT fine-tuning'))('fine-tuning on a new label set', () => {
  it('replaces the head, rewrites id2label, keeps the backbone, and learns the new task', async () => {
    const src = fixturePath('vit-tiny-random');
    const base = await ViTForImageClassification.fromPretrained(src);
    const swapped = withNewLabels(base, ['dark', 'bright']);
    expect(swapped.config.labels).toEqual(['dark', 'bright']);
    expect(swapped.classifier.weight.shape).toEqual([32, 2]);
    const a = base.vit.embeddings.positionEmbeddings.variable.dataSync();
    const b = swapped.vit.embeddings.positionEmbeddings.variable.dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    swapped.dispose();

    const data = { train: synthetic(48, 32, 3), test: synthetic(16, 32, 4) };
    const { model, history } = await fineTuneImageClassifier(src, { '0': 'dark', '1': 'bright' }, data, {
      epochs: 6,
      batchSize: 8,
      lr: 3e-3,
      warmupSteps: 6,
    });
    expect(history.at(-1)!.testAccuracy).toBe(1);
    const out = join(dir, 'finetuned');
    await model.save(out);
    const json = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(json.id2label).toEqual({ '0': 'dark', '1': 'bright' });
    expect(json.label2id).toEqual({ dark: 0, bright: 1 });
    expect(json.image_size).toBe(32);
    model.dispose();
    base.dispose();
  });
});
