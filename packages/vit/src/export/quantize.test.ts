import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { type ImageClassification, pipeline, ViTForImageClassification } from '../index.js';

interface GoldImage {
  file: string;
  top5_ids: number[];
}

const model = () => fixturePath('models', 'vit-tiny-tinyimagenet');
const gold = (): GoldImage[] =>
  JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-tinyimagenet.json'), 'utf8')).images;
const photo = (file: string) => fixturePath('data', 'tiny-imagenet-val-200', file);

async function top1(
  dtype: 'fp32' | 'q8',
  files: string[],
  device: 'native' | 'wasm' = 'native',
  dir = model(),
): Promise<string[]> {
  const classify = await pipeline('image-classification', dir, { device, dtype, top_k: 1 });
  const out: string[] = [];
  const before = tf.memory().numTensors;
  for await (const r of classify.stream(files, { batchSize: 16 }))
    out.push((r as ImageClassification[])[0]!.label);
  expect(tf.memory().numTensors).toBe(before);
  await classify.dispose();
  return out;
}

// The accuracy guard of q8: the real ViT-Tiny keeps its top-1 on the 200 public Tiny-ImageNet photos.
describe.skipIf(!haveFixtures('ViT q8'))('ViT dtype q8 (native engine, and q8 weight files on tfjs)', () => {
  it('gives the same top-1 as fp32 on at least 98% of the 200 photos', async () => {
    const files = gold().map((g) => photo(g.file));
    const fp32 = await top1('fp32', files);
    const q8 = await top1('q8', files);
    const same = fp32.filter((l, i) => l === q8[i]).length;
    console.log(`ViT-Tiny q8 top-1 = fp32 on ${same}/200 photos`);
    expect(same).toBeGreaterThanOrEqual(196);
  }, 300_000);

  it('tfjs (wasm) loading the q8 weight file by dequantising: top-1 = fp32 on at least 98% of the photos', async () => {
    // Only the q8 file in the folder, so what runs is what a q8 download gives. fp32's top-1 is HF Python's
    // (the gold), which attn's fp32 equals on 200/200 (bench "classify images").
    const dir = mkdtempSync(join(tmpdir(), 'attn-vit-q8-'));
    try {
      await initBackend('cpu');
      const m = await ViTForImageClassification.fromPretrained(model());
      await m.save(dir, undefined, { dtype: 'q8' });
      m.dispose();
      for (const f of ['config.json', 'preprocessor_config.json'])
        copyFileSync(join(model(), f), join(dir, f));
      const labels = JSON.parse(readFileSync(join(model(), 'config.json'), 'utf8')).id2label;
      const fp32 = gold().map((g) => labels[g.top5_ids[0]!]);
      const q8 = await top1(
        'q8',
        gold().map((g) => photo(g.file)),
        'wasm',
        dir,
      );
      const same = fp32.filter((l, i) => l === q8[i]).length;
      console.log(`ViT-Tiny q8 weights dequantised on tfjs wasm: top-1 = fp32 on ${same}/200 photos`);
      expect(same).toBeGreaterThanOrEqual(196);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
