import { readFileSync } from 'node:fs';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BertInputError,
  batchByLength,
  type FeatureExtractionPipeline,
  lengthSortedBatches,
  pipeline,
} from '../src/index.js';
import { fixturePath, GOLD_DIR, haveFixtures } from './helpers.js';

/** An async iterable of 0..n-1 that records how many items have been pulled from it. */
function counted<T>(items: T[]) {
  const state = { pulled: 0 };
  const iterable = (async function* () {
    for (const x of items) {
      state.pulled++;
      yield x;
    }
  })();
  return { state, iterable };
}

describe('lengthSortedBatches', () => {
  it('groups indices shortest first, ties in input order, at most batchSize each', () => {
    expect(lengthSortedBatches([5, 1, 9, 1, 3, 7, 2], 3)).toEqual([[1, 3, 6], [4, 0, 5], [2]]);
    expect(lengthSortedBatches([], 4)).toEqual([]);
    expect(() => lengthSortedBatches([1], 0)).toThrow(BertInputError);
  });
});

describe('batchByLength', () => {
  const lengths = Array.from({ length: 103 }, (_, i) => ((i * 37) % 50) + 1);

  it('gives every result back in input order, runs batches of similar length, reads one window ahead', async () => {
    const { state, iterable } = counted(lengths);
    const batchSize = 4;
    const sortWindow = 3;
    const window = batchSize * sortWindow;
    const seen: number[][] = [];
    const out: number[] = [];
    for await (const { items, results } of batchByLength(iterable, {
      batchSize,
      sortWindow,
      length: (n) => n,
      run: async (batch) => {
        seen.push(batch);
        return batch.map((n) => n * 10);
      },
    })) {
      expect(items.length).toBe(results.length);
      for (const r of results) {
        out.push(r);
        // the bound: never more than one window read beyond what has come out
        expect(state.pulled - out.length).toBeLessThan(window);
      }
    }
    expect(out).toEqual(lengths.map((n) => n * 10));
    expect(seen.every((b) => b.length <= batchSize)).toBe(true);
    // padding: positions run (batch × its longest) against the real lengths, file order vs sorted
    const positions = (batches: number[][]) => batches.reduce((s, b) => s + b.length * Math.max(...b), 0);
    const fileOrder: number[][] = [];
    for (let i = 0; i < lengths.length; i += batchSize) fileOrder.push(lengths.slice(i, i + batchSize));
    expect(positions(seen)).toBeLessThan(0.8 * positions(fileOrder));
    // within each window, batches come shortest first
    expect(seen[0]).toEqual([...seen[0]!].sort((a, b) => a - b));
  });

  it('sortWindow 1 makes the batches of input order (each sorted within)', async () => {
    const seen: number[][] = [];
    for await (const _ of batchByLength(lengths, {
      batchSize: 5,
      sortWindow: 1,
      length: (n) => n,
      run: async (b) => {
        seen.push(b);
        return b;
      },
    }));
    const sorted = (b: number[]) => [...b].sort((x, y) => x - y);
    const fileOrder: number[][] = [];
    for (let i = 0; i < lengths.length; i += 5) fileOrder.push(sorted(lengths.slice(i, i + 5)));
    expect(seen).toEqual(fileOrder);
  });

  it('refuses a run that loses results', async () => {
    const gen = batchByLength([1, 2, 3], { batchSize: 2, length: (n) => n, run: async (b) => b.slice(1) });
    await expect(gen.next()).rejects.toThrow(/1 results for 2 items/);
  });
});

/** Real IMDB reviews (long) mixed with short sentences, so sorting reorders them. */
function mixedDocs(): string[] {
  const csv = readFileSync(fixturePath('data', 'imdb-sample', 'imdb_test_sample.csv'), 'utf8');
  const reviews = csv
    .split('\n')
    .slice(1, 8)
    .map((l) => l.replace(/^"|",?\d*\r?$/g, ''));
  const short = ['ok.', 'a fine film', 'no', 'the best thing I saw this year, truly', 'meh', 'why?'];
  const docs: string[] = [];
  for (let i = 0; i < 13; i++) docs.push(i % 2 ? short[i % short.length]! : reviews[i % reviews.length]!);
  return docs;
}

describe.skipIf(!haveFixtures('bert length-aware stream')).each(['cpu', 'native'] as const)(
  'FeatureExtractionPipeline.stream, length-aware, device %s',
  (device) => {
    let embed: FeatureExtractionPipeline;
    beforeAll(async () => {
      // maxLength 128: long reviews are truncated, short ones are not, so lengths differ widely
      embed = await pipeline('feature-extraction', GOLD_DIR(), { device, threads: 1, maxLength: 128 });
    });
    afterAll(async () => {
      await embed?.dispose();
    });

    it('equals each document embedded alone (1e-5), in input order, with batches of 4', async () => {
      const docs = mixedDocs();
      const lengths = docs.map((d) => embed.tokenIds(d).length);
      expect(Math.max(...lengths)).toBe(128);
      expect(Math.min(...lengths)).toBeLessThan(10);
      const alone: Float32Array[] = [];
      for (const d of docs)
        alone.push((await embed(d, { pooling: 'mean', normalize: true })).data as Float32Array);
      const { state, iterable } = counted(docs);
      const streamed = await expectNoLeaks(async () => {
        const out: Float32Array[] = [];
        for await (const v of embed.stream(iterable, {
          batchSize: 4,
          sortWindow: 2,
          pooling: 'mean',
          normalize: true,
        })) {
          out.push(v);
          expect(state.pulled - out.length).toBeLessThan(8);
        }
        return out;
      }, 'stream');
      expect(streamed.length).toBe(docs.length);
      streamed.forEach((v, i) => {
        expect(v.length).toBe(alone[i]!.length);
        let worst = 0;
        for (let d = 0; d < v.length; d++) worst = Math.max(worst, Math.abs(v[d]! - alone[i]![d]!));
        expect(worst, `document ${i}`).toBeLessThanOrEqual(1e-5);
      });
    });

    it('embedTokens on tokenIds equals the pipeline on the texts', async () => {
      const docs = mixedDocs().slice(0, 5);
      const viaIds = await embed.embedTokens(
        docs.map((d) => embed.tokenIds(d)),
        { pooling: 'mean' },
      );
      const direct = await embed(docs, { pooling: 'mean' });
      const H = direct.dims[1]!;
      viaIds.forEach((v, i) => {
        for (let d = 0; d < H; d++)
          expect(Math.abs(v[d]! - direct.data[i * H + d]!)).toBeLessThanOrEqual(1e-6);
      });
    });
  },
);
