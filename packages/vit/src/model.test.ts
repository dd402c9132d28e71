import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { backendsUnderTest, expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { ViTConfig } from './config.js';
import { ViTInputError } from './embeddings.js';
import { ViTForImageClassification, ViTModel } from './model.js';
import { ViTImageProcessor } from './processor.js';

// cpu, wasm, and webgpu where an adapter exists (SwiftShader in CI).
const BACKENDS = await backendsUnderTest();
const readJson = (...p: string[]) => JSON.parse(readFileSync(fixturePath(...p), 'utf8'));

/** Reads asynchronously: WebGPU in Node has no synchronous read-back. */
async function maxAbsDiff(t: tf.Tensor, gold: unknown): Promise<number> {
  const a = await t.data();
  const g = Float32Array.from((gold as number[]).flat(Number.POSITIVE_INFINITY) as number[]);
  expect(a.length).toBe(g.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - g[i]));
  return m;
}

describe.skipIf(!haveFixtures('ViT model goldens'))('ViT vs Hugging Face (random fixtures)', () => {
  for (const backend of BACKENDS) {
    it(`vit-tiny-random: logits, hidden states, last hidden state, layer-0 attentions on ${backend}`, async () => {
      await initBackend(backend);
      const dir = fixturePath('vit-tiny-random');
      const model = await ViTForImageClassification.fromPretrained(dir);
      const proc = await ViTImageProcessor.fromPretrained(dir);
      const gold = readJson('golden', 'vit-tiny-random.json');
      await expectNoLeaks(async () => {
        for (const g of gold.images) {
          const { pixelValues } = await proc.preprocess(fixturePath('golden', g.image));
          const out = model.forward(pixelValues, { outputHiddenStates: true, outputAttentions: true });
          expect(await maxAbsDiff(out.logits, g.logits), `${g.image} logits`).toBeLessThan(1e-4);
          const logits = Array.from(await out.logits.data());
          expect(model.config.labels[logits.indexOf(Math.max(...logits))]).toBe(g.predicted_label);
          const hs = tf.stack(out.hiddenStates!);
          expect(await maxAbsDiff(hs, g.hidden_states), `${g.image} hidden`).toBeLessThan(1e-4);
          if (g.attentions_layer0)
            expect(await maxAbsDiff(out.attentions![0], g.attentions_layer0)).toBeLessThan(1e-4);
          tf.dispose([pixelValues, out.logits, hs, ...out.hiddenStates!, ...out.attentions!]);
        }
      }, 'forward');
      model.dispose();
    });

    it(`vit-tiny-random-224: logits and layer-0 attentions on ${backend}`, async () => {
      await initBackend(backend);
      const dir = fixturePath('vit-tiny-random-224');
      const model = await ViTForImageClassification.fromPretrained(dir);
      const proc = await ViTImageProcessor.fromPretrained(dir);
      const gold = readJson('golden', 'vit-tiny-random-224.json');
      // webgpu runs on a software rasteriser in CI: one image keeps it quick
      if (backend === 'webgpu') gold.images = gold.images.slice(0, 1);
      const files = gold.images.map((g: { image: string }) => fixturePath('golden', g.image));
      const { pixelValues } = await proc.preprocess(files); // one batch: HF checked batch = single
      const out = model.forward(pixelValues, { outputAttentions: true, outputHiddenStates: true });
      expect(
        await maxAbsDiff(
          out.logits,
          gold.images.map((g: { logits: number[][] }) => g.logits[0]),
        ),
      ).toBeLessThan(1e-4);
      const first = tf.slice(out.attentions![0], [0, 0, 0, 0], [1, -1, -1, -1]);
      expect(
        await maxAbsDiff(first, readJson('golden', 'vit-tiny-random-224-attn0.json').attentions_layer0),
      ).toBeLessThan(1e-4);
      const hs0 = tf.stack(out.hiddenStates!.map((h) => tf.slice(h, [0, 0, 0], [1, -1, -1])));
      expect(await maxAbsDiff(hs0, gold.images[0].hidden_states)).toBeLessThan(1e-4);
      tf.dispose([pixelValues, out.logits, first, hs0, ...out.attentions!, ...out.hiddenStates!]);
      model.dispose();
    });
  }

  it('ViTModel loads the backbone of a classification checkpoint; last_hidden_state matches', async () => {
    await initBackend('cpu');
    const dir = fixturePath('vit-tiny-random');
    const model = await ViTModel.fromPretrained(dir);
    expect(model.pooler).toBeUndefined();
    const gold = readJson('golden', 'vit-tiny-random.json').images[2];
    const { pixelValues } = await (await ViTImageProcessor.fromPretrained(dir)).preprocess(
      fixturePath('golden', gold.image),
    );
    const out = model.forward(pixelValues);
    expect(await maxAbsDiff(out.lastHiddenState, gold.last_hidden_state)).toBeLessThan(1e-4);
    tf.dispose([pixelValues, out.lastHiddenState]);
    model.dispose();
  });

  it('save → fromPretrained round-trips bit for bit, config (unknown fields, labels) included', async () => {
    await initBackend('cpu');
    const src = fixturePath('vit-tiny-random');
    const model = await ViTForImageClassification.fromPretrained(src);
    const dir = await mkdtemp(join(tmpdir(), 'vit-save-'));
    try {
      await model.save(dir);
      const again = await ViTForImageClassification.fromPretrained(dir);
      const a = model.stateDict();
      const b = again.stateDict();
      for (const [k, t] of a) expect(await maxAbsDiff(b.get(k)!, Array.from(t.dataSync())), k).toBe(0);
      tf.dispose([...a.values(), ...b.values()]);
      const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const orig = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
      expect(json.id2label).toEqual(orig.id2label);
      expect(json.label2id).toEqual(orig.label2id);
      expect(json.tie_word_embeddings).toBe(true); // unknown to ViT, kept
      again.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('wrong input sizes and channels are typed errors naming pixelValues', async () => {
    await initBackend('cpu');
    const model = new ViTForImageClassification(
      ViTConfig.from({
        hidden_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 16,
        image_size: 16,
        patch_size: 8,
      }),
    );
    const x = tf.zeros([1, 3, 24, 24]);
    expect(() => model.forward(x)).toThrow(ViTInputError);
    expect(() => model.forward(x)).toThrow(/pixelValues.*interpolatePosEncoding/);
    const y = tf.zeros([1, 1, 16, 16]);
    expect(() => model.forward(y)).toThrow(/pixelValues: 1 channels/);
    const out = model.forward(x, { interpolatePosEncoding: true }); // 3×3 grid from a 2×2 one
    expect(out.logits.shape).toEqual([1, 2]);
    tf.dispose([x, y, out.logits]);
    model.dispose();
  });
});
