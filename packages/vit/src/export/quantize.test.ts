import { readFileSync } from 'node:fs';
import { PipelineError, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { type ImageClassification, pipeline } from '../index.js';

interface GoldImage {
  file: string;
  top5_ids: number[];
}

const model = () => fixturePath('models', 'vit-tiny-tinyimagenet');
const gold = (): GoldImage[] =>
  JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-tinyimagenet.json'), 'utf8')).images;
const photo = (file: string) => fixturePath('data', 'tiny-imagenet-val-200', file);

async function top1(dtype: 'fp32' | 'q8', files: string[]): Promise<string[]> {
  const classify = await pipeline('image-classification', model(), { device: 'native', dtype, top_k: 1 });
  const out: string[] = [];
  const before = tf.memory().numTensors;
  for await (const r of classify.stream(files, { batchSize: 16 }))
    out.push((r as ImageClassification[])[0]!.label);
  expect(tf.memory().numTensors).toBe(before);
  await classify.dispose();
  return out;
}

// The accuracy guard of q8: the real ViT-Tiny keeps its top-1 on the 200 public Tiny-ImageNet photos.
describe.skipIf(!haveFixtures('ViT q8'))('ViT dtype q8 (native engine)', () => {
  it('gives the same top-1 as fp32 on at least 98% of the 200 photos', async () => {
    const files = gold().map((g) => photo(g.file));
    const fp32 = await top1('fp32', files);
    const q8 = await top1('q8', files);
    const same = fp32.filter((l, i) => l === q8[i]).length;
    console.log(`ViT-Tiny q8 top-1 = fp32 on ${same}/200 photos`);
    expect(same).toBeGreaterThanOrEqual(196);
  }, 300_000);

  it('q8 on a tfjs device is a typed error saying so', async () => {
    const err = await pipeline('image-classification', model(), { device: 'cpu', dtype: 'q8' }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(PipelineError);
    expect(err.code).toBe('UNSUPPORTED_DTYPE');
    expect(err.message).toMatch(/dtype "q8" runs on the native engine/);
  });
});
