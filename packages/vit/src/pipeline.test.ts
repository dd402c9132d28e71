import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MissingWeightsError, type ProgressEvent, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { pipeline, ViTModel, ViTOnnxRuntime } from './index.js';

const readJson = (...p: string[]) => JSON.parse(readFileSync(fixturePath(...p), 'utf8'));

describe.skipIf(!haveFixtures('ViT pipeline'))('pipeline("image-classification")', () => {
  it("with no options and no initBackend: 'auto' picks native (onnxruntime-node is installed), progress events", async () => {
    const events: ProgressEvent[] = [];
    const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
      progress_callback: (e) => events.push(e),
    });
    expect(classify.device).toMatchObject({ device: 'native', engine: 'onnx' });
    const g = readJson('golden', 'vit-tiny-random.json').images[0];
    const [top] = (await classify(fixturePath('golden', g.image), { top_k: 1 })) as { label: string }[];
    expect(top!.label).toBe(g.predicted_label);
    const done = events.filter((e) => e.status === 'done').map((e) => (e as { file: string }).file);
    expect(done).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'preprocessor_config.json']),
    );
    expect(events.at(-1)).toMatchObject({ status: 'ready', task: 'image-classification' });
    await classify.dispose();
  });

  for (const device of ['wasm', 'native'] as const)
    it(`top-k labels and softmax scores agree with the golden logits (device ${device})`, async () => {
      const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
        top_k: 3,
        device,
      });
      expect(classify.device.device).toBe(device);
      const gold = readJson('golden', 'vit-tiny-random.json').images;
      const files: string[] = gold.map((g: { image: string }) => fixturePath('golden', g.image));
      const results = (await classify(files)) as { label: string; score: number }[][];
      gold.forEach((g: { logits: number[][]; predicted_label: string }, n: number) => {
        const logits = g.logits[0];
        const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
        const sum = z.reduce((a, b) => a + b, 0);
        const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a]);
        expect(results[n]).toHaveLength(3);
        expect(results[n][0].label).toBe(g.predicted_label);
        results[n].forEach((r, k) => {
          expect(r.label).toBe(classify.model.config.labels[order[k]]);
          expect(Math.abs(r.score - z[order[k]] / sum)).toBeLessThan(1e-4);
        });
      });
      expect(await classify(files[0], { top_k: 1 })).toEqual([results[0][0]]);
      // the deprecated .run() and topK still work
      expect(await classify.run(files[0], { topK: 1 })).toEqual([results[0][0]]);
      await classify.dispose();
    });

  it('a checkpoint without a trained classifier is a MissingWeightsError naming it; allowRandomHead opts in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-vit-bare-'));
    const base = await ViTModel.fromPretrained(fixturePath('vit-tiny-random'));
    await base.save(dir);
    base.dispose();
    copyFileSync(
      fixturePath('vit-tiny-random', 'preprocessor_config.json'),
      join(dir, 'preprocessor_config.json'),
    );
    for (const device of ['wasm', 'native'] as const) {
      const err = await pipeline('image-classification', dir, { device }).catch((e) => e);
      expect(err).toBeInstanceOf(MissingWeightsError);
      expect(err.missing).toEqual(['classifier.weight', 'classifier.bias']);
      expect(err.message).toContain(dir);
      const tune = await pipeline('image-classification', dir, { device, allowRandomHead: true });
      expect(await tune(fixturePath('golden', 'images', 'solid_17x23.png'))).toHaveLength(5);
      await tune.dispose();
    }
  });

  it('the onnx runtime leaves no tensor behind, and an unknown runtime is a clear error', async () => {
    const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
      runtime: 'onnx', // deprecated: device 'native'
    });
    expect(classify.device.device).toBe('native');
    const image = fixturePath('golden', 'images', 'solid_17x23.png');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) await classify(image);
    expect(tf.memory().numTensors).toBe(before);
    await classify.dispose();
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
    const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
      device: 'wasm',
    });
    const image = fixturePath('golden', 'images', 'solid_17x23.png');
    const first = await classify(image);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) await classify(image);
    expect(tf.memory().numTensors).toBe(before);
    expect(await classify(image)).toEqual(first);
    await classify.dispose();
  });
});
