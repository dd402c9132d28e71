import { initBackend } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../pipelines.js';
import { createFeatureExtractionPool, type FeatureExtractionPool } from './feature-extraction-pool.js';
import { WorkerPoolError, WorkerTaskError } from './pool-core.js';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Paris is the [MASK] of France.',
  'Café déjà vu: naïve coöperation in 2024! 🤗 北京',
  'short',
  'A somewhat longer sentence, so that the batches are padded to different lengths in each worker.',
  'How old are you?',
  'I am 6 years old.',
  'The cat sat on the mat.',
  'Attention is all you need.',
  'Transformers in JavaScript, on every core.',
];

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe.skipIf(!haveFixtures('feature-extraction pool'))('createFeatureExtractionPool', () => {
  const modelDir = () => fixturePath('bert-tiny-random');
  let pool: FeatureExtractionPool;

  beforeAll(async () => {
    await initBackend('wasm');
    pool = await createFeatureExtractionPool(modelDir(), {
      workers: 2,
      batchSize: 3,
      pooling: 'mean',
      normalize: true,
    });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('gives the single-thread pipeline’s vectors (to 1e-6), in input order, across 2 workers', async () => {
    expect(pool.workers).toBe(2);
    const single = await pipeline('feature-extraction', modelDir(), { device: 'wasm' });
    const want = await expectNoLeaks(
      () => single.call(TEXTS, { pooling: 'mean', normalize: true }),
      'pipeline',
    );
    single.dispose();
    const got = await pool.embed(TEXTS);
    expect(got).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) expect(maxAbsDiff(got[i], want[i])).toBeLessThan(1e-6);
    // Two different texts really give different vectors (the comparison above is not vacuous).
    expect(maxAbsDiff(got[0], got[1])).toBeGreaterThan(1e-3);
  });

  it('cls pooling without normalisation matches too, and concurrent calls do not mix up results', async () => {
    const cls = await createFeatureExtractionPool(modelDir(), { workers: 2, batchSize: 4, pooling: 'cls' });
    try {
      const single = await pipeline('feature-extraction', modelDir(), { device: 'wasm' });
      const want = await single.call(TEXTS, { pooling: 'cls' });
      single.dispose();
      const [a, b] = await Promise.all([cls.embed(TEXTS), cls.embed([...TEXTS].reverse())]);
      for (let i = 0; i < TEXTS.length; i++) {
        expect(maxAbsDiff(a[i], want[i])).toBeLessThan(1e-6);
        expect(maxAbsDiff(b[TEXTS.length - 1 - i], want[i])).toBeLessThan(1e-6);
      }
    } finally {
      await cls.close();
    }
  });

  it('an error in a worker rejects the call with its message, and the pool keeps serving', async () => {
    await expect(pool.embed([42 as unknown as string])).rejects.toThrow(WorkerTaskError);
    await expect(pool.embed([42 as unknown as string])).rejects.toThrow(/texts\[0\]: expected a string/);
    expect(await pool.embed(['still alive'])).toHaveLength(1);
  });

  it('a model that cannot load rejects creation (no worker left running); a closed pool refuses work', async () => {
    await expect(createFeatureExtractionPool('/nonexistent/model', { workers: 1 })).rejects.toThrow(
      /initialisation failed/,
    );
    const p = await createFeatureExtractionPool(modelDir(), { workers: 1 });
    await p.close();
    await expect(p.embed(['x'])).rejects.toThrow(WorkerPoolError);
  });
});
