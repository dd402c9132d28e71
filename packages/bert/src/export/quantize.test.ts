import { readFileSync } from 'node:fs';
import { tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../index.js';

/** The first 24 IMDB reviews of the fixtures (real, long text) and a few short sentences. */
function docs(): string[] {
  const csv = readFileSync(fixturePath('data', 'imdb-sample', 'imdb_test_sample.csv'), 'utf8');
  const reviews = csv
    .split('\n')
    .slice(1, 25)
    .map((l) => l.replace(/^"|",?\d*\r?$/g, ''));
  return [...reviews, 'ok.', 'a fine film', 'the best thing I saw this year, truly'];
}

const cosine = (a: number[], b: number[]) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
};

async function vectors(
  model: string,
  dtype: 'fp32' | 'q8',
  texts: string[],
  device: 'native' | 'wasm' = 'native',
): Promise<number[][]> {
  const embed = await pipeline('feature-extraction', model, { device, dtype });
  const before = tf.memory().numTensors;
  const out = (await embed(texts, { pooling: 'mean' })).tolist() as number[][];
  expect(tf.memory().numTensors).toBe(before);
  await embed.dispose();
  return out;
}

// The accuracy guard of q8 for text: mean-pooled sentence vectors stay within cosine 0.99 of fp32's, on the
// native engine (int8 weights and activations) and on tfjs (q8 weights dequantised: what model.q8.safetensors gives).
describe.skipIf(!haveFixtures('BERT q8'))(
  'BERT dtype q8 (native engine and tfjs), mean-pooled sentence vectors',
  () => {
    for (const device of ['native', 'wasm'] as const)
      for (const [name, model] of [
        [
          'spam-bert-mlm (pre-trained, 4 layers × 64)',
          new URL('../../../../apps/classifier/models/spam-bert-mlm', import.meta.url).pathname,
        ],
        ['bert-tiny-random (fixtures)', fixturePath('bert-tiny-random')],
      ] as const)
        it(`${name} on ${device}: cosine to fp32 ≥ 0.99 for every text`, async () => {
          const texts = docs();
          const fp32 = await vectors(model, 'fp32', texts, device);
          const q8 = await vectors(model, 'q8', texts, device);
          const cos = fp32.map((v, i) => cosine(v, q8[i]!));
          console.log(`${name} on ${device}: q8 cosine to fp32 min ${Math.min(...cos).toFixed(5)}`);
          expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.99);
          // and the vectors did change: q8 really ran (fp32 twice is bit-identical)
          expect(Math.max(...cos.map((c) => 1 - c))).toBeGreaterThan(1e-7);
        }, 120_000);
  },
);
