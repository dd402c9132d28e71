import { readFileSync } from 'node:fs';
import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { ViTForImageClassification, ViTImageProcessor } from '../src/index.js';

interface GoldImage {
  file: string;
  label: number;
  top5_ids: number[];
  logits: number[];
  attention_last_layer_cls?: number[][];
}

// The real ViT-Tiny (Tiny-ImageNet, 200 classes) on all 200 public photos: same answers as Hugging Face.
describe.skipIf(!haveFixtures('real ViT-Tiny'))(
  'ViT-Tiny on 200 Tiny-ImageNet photos vs Hugging Face',
  () => {
    it('top-1 for every image, logits to 1e-3, top-1/top-5 accuracy equal to the golden (wasm, batches of 50)', async () => {
      await initBackend('wasm');
      const dir = fixturePath('models', 'vit-tiny-tinyimagenet');
      const gold = JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-tinyimagenet.json'), 'utf8'));
      const images: GoldImage[] = gold.images;
      expect(images).toHaveLength(200);
      const model = await ViTForImageClassification.fromPretrained(dir);
      const proc = await ViTImageProcessor.fromPretrained(dir);
      let top1 = 0;
      let top5 = 0;
      let worst = 0;
      await expectNoLeaks(async () => {
        for (let s = 0; s < images.length; s += 50) {
          const batch = images.slice(s, s + 50);
          const { pixelValues } = await proc.preprocess(
            batch.map((g) => fixturePath('data', 'tiny-imagenet-val-200', g.file)),
          );
          const out = model.forward(pixelValues, { outputAttentions: s === 0 });
          const logits = await out.logits.data();
          batch.forEach((g, n) => {
            const row = Array.from(logits.subarray(n * 200, (n + 1) * 200));
            const order = row.map((_, i) => i).sort((a, b) => row[b] - row[a]);
            expect(order[0], `${g.file} top-1`).toBe(g.top5_ids[0]);
            expect(order.slice(0, 5), `${g.file} top-5`).toEqual(g.top5_ids);
            for (let i = 0; i < 200; i++)
              worst = Math.max(worst, Math.abs(row[i] - Math.fround(g.logits[i])));
            if (order[0] === g.label) top1++;
            if (order.slice(0, 5).includes(g.label)) top5++;
          });
          if (out.attentions) {
            // last layer, [CLS] query, all heads, for the first image
            const last = out.attentions[out.attentions.length - 1];
            const cls = tf.tidy(() => tf.reshape(tf.slice(last, [0, 0, 0, 0], [1, -1, 1, -1]), [3, 197]));
            const a = await cls.data();
            const g = Float32Array.from(images[0].attention_last_layer_cls!.flat());
            let m = 0;
            for (let i = 0; i < g.length; i++) m = Math.max(m, Math.abs(a[i] - g[i]));
            expect(m).toBeLessThan(1e-4);
            cls.dispose();
          }
          tf.dispose([pixelValues, out.logits, ...(out.attentions ?? [])]);
        }
      }, 'ViT-Tiny evaluation');
      expect(worst).toBeLessThan(1e-3);
      expect(top1).toBe(gold.meta.accuracy.top1_correct); // 140 = 70.0 %
      expect(top5).toBe(gold.meta.accuracy.top5_correct); // 176 = 88.0 %
      console.info(
        `ViT-Tiny: top-1 ${(top1 / 2).toFixed(1)}%, top-5 ${(top5 / 2).toFixed(1)}%, max |Δlogit| ${worst.toExponential(2)}`,
      );
      model.dispose();
    }, 900_000); // ~250 GFLOP of inference: minutes on a shared 2-core machine
  },
);
