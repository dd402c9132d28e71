import { readFileSync } from 'node:fs';
import { tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { type ImageClassification, ImageInputError, pipeline } from './index.js';

interface GoldImage {
  file: string;
  top5_ids: number[];
  top5_probs: number[];
}

const gold = (): GoldImage[] =>
  JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-tinyimagenet.json'), 'utf8')).images;
const photo = (file: string) => fixturePath('data', 'tiny-imagenet-val-200', file);

// The real ViT-Tiny on Tiny-ImageNet photos: the stream decodes batch k+1 while the model runs batch k.
describe.skipIf(!haveFixtures('ViT pipeline stream'))('ImageClassificationPipeline.stream', () => {
  for (const device of ['native', 'wasm'] as const)
    it(`yields each image's own result, in input order, equal to Hugging Face's top-3 (device ${device})`, async () => {
      const classify = await pipeline(
        'image-classification',
        fixturePath('models', 'vit-tiny-tinyimagenet'),
        { device, top_k: 3 },
      );
      const images = gold().slice(0, 7);
      const files = images.map((g) => photo(g.file));
      const alone: ImageClassification[][] = [];
      for (const f of files) alone.push(await classify(f));
      const before = tf.memory().numTensors;
      const streamed: ImageClassification[][] = [];
      // batches of 3, 3, 1; an async iterable source, as a directory listing would be
      async function* source() {
        yield* files;
      }
      for await (const r of classify.stream(source(), { batchSize: 3 })) streamed.push(r);
      expect(tf.memory().numTensors).toBe(before);
      expect(streamed).toHaveLength(7);
      streamed.forEach((r, n) => {
        const g = images[n]!;
        expect(r.map((x) => x.label)).toEqual(alone[n]!.map((x) => x.label));
        expect(r.map((x) => x.label)).toEqual(g.top5_ids.slice(0, 3).map((i) => classify.labels[i]));
        r.forEach((x, k) => {
          expect(Math.abs(x.score - alone[n]![k]!.score)).toBeLessThan(1e-5);
          expect(Math.abs(x.score - g.top5_probs[k]!)).toBeLessThan(1e-4);
        });
      });
      await classify.dispose();
    });

  it('a bad image in a later batch fails after the earlier batches, naming the file; break closes the source', async () => {
    const classify = await pipeline('image-classification', fixturePath('vit-tiny-random'), {
      device: 'native',
      top_k: 1,
    });
    const good = fixturePath('golden', 'images', 'solid_17x23.png');
    const bad = fixturePath('golden', 'README.md');
    const before = tf.memory().numTensors;
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const r of classify.stream([good, good, good, bad], { batchSize: 2 })) seen.push(r);
    })().catch((e) => e);
    expect(seen).toHaveLength(2);
    expect(err).toBeInstanceOf(ImageInputError);
    expect(err.message).toContain('README.md');
    let closed = false;
    let read = 0;
    function* endless() {
      try {
        for (;;) {
          read++;
          yield good;
        }
      } finally {
        closed = true;
      }
    }
    let taken = 0;
    for await (const _ of classify.stream(endless(), { batchSize: 2 })) if (++taken === 3) break;
    expect(closed).toBe(true);
    expect(read).toBeLessThanOrEqual(6); // the batch in use and the one decoded ahead, no more
    expect(tf.memory().numTensors).toBe(before);
    await expect(classify.stream([good], { batchSize: 0 }).next()).rejects.toThrow(/batchSize/);
    await classify.dispose();
  });
});
