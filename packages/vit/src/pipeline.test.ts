import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { pipeline, ViTModel, ViTOnnxRuntime } from './index.js';

const readJson = (...p: string[]) => JSON.parse(readFileSync(fixturePath(...p), 'utf8'));

describe.skipIf(!haveFixtures('ViT pipeline'))('pipeline("image-classification")', () => {
  beforeAll(() => initBackend('wasm'));

  for (const runtime of ['tfjs', 'onnx'] as const)
    it(`top-k labels and softmax scores agree with the golden logits (runtime ${runtime})`, async () => {
      const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
        topK: 3,
        runtime,
      });
      const gold = readJson('golden', 'vit-tiny-random.json').images;
      const files: string[] = gold.map((g: { image: string }) => fixturePath('golden', g.image));
      const results = await classify.run(files);
      gold.forEach((g: { logits: number[][]; predicted_label: string }, n: number) => {
        const logits = g.logits[0];
        const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
        const sum = z.reduce((a, b) => a + b, 0);
        const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a]);
        expect(results[n]).toHaveLength(3);
        expect(results[n][0].label).toBe(g.predicted_label);
        results[n].forEach((r, k) => {
          expect(r.label).toBe(classify.model.config.labels[order[k]]);
          expect(r.score).toBeCloseTo(z[order[k]] / sum, 5);
        });
      });
      const single = await classify.run(files[0], { topK: 1 });
      expect(single).toEqual([results[0][0]]);
      classify.dispose();
    });

  it('the onnx runtime leaves no tensor behind, and an unknown runtime is a clear error', async () => {
    const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
      runtime: 'onnx',
    });
    const image = fixturePath('golden', 'images', 'solid_17x23.png');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) await classify.run(image);
    expect(tf.memory().numTensors).toBe(before);
    classify.dispose();
    await expect(
      pipeline('image-classification', fixturePath('vit-tiny-random'), { runtime: 'gpu' as 'onnx' }),
    ).rejects.toThrow(/unknown runtime "gpu"/);
  });

  it('ViTOnnxRuntime.fromPretrained on a bare ViTModel checkpoint initialises the classifier through tfjs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-vit-onnx-'));
    const base = await ViTModel.fromPretrained(fixturePath('vit-tiny-random'));
    await base.save(dir);
    base.dispose();
    const runtime = await ViTOnnxRuntime.fromPretrained(dir);
    const pixels = tf.zeros([2, 3, 32, 32]) as tf.Tensor4D;
    const { logits } = await runtime.forward(pixels);
    expect(logits.shape).toEqual([2, runtime.config.numLabels]);
    tf.dispose([pixels, logits]);
    await runtime.dispose();
  });

  it('no tensor leaks across 1,000 calls', async () => {
    const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'));
    const image = fixturePath('golden', 'images', 'solid_17x23.png');
    const first = await classify.run(image);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) await classify.run(image);
    expect(tf.memory().numTensors).toBe(before);
    expect(await classify.run(image)).toEqual(first);
    classify.dispose();
  });
});
