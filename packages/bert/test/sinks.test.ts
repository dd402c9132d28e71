import { PassThrough } from 'node:stream';
import { initBackend } from '@attn/core-tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FeatureExtractionPipeline,
  JsonlSink,
  pipeline,
  streamInto,
  type VectorRecord,
  type VectorSink,
} from '../src/index.js';
import { GOLD_DIR, haveFixtures } from './helpers.js';

/** The pipeline's [texts, H] output as one vector per text. */
const vectorsOf = (t: { data: Float32Array; dims: number[] }) =>
  Array.from({ length: t.dims[0]! }, (_, i) => t.data.subarray(i * t.dims[1]!, (i + 1) * t.dims[1]!));

const docs = ['the cat sat', 'a dog', 'hello world again', 'x', 'four five six seven', 'end'].map(
  (text, i) => ({ id: `d${i}`, text }),
);

describe.skipIf(!haveFixtures('bert sinks'))(
  'streamInto: the feature-extraction stream into a VectorSink',
  () => {
    let pipe: FeatureExtractionPipeline;
    beforeAll(async () => {
      await initBackend('cpu');
      pipe = await pipeline('feature-extraction', GOLD_DIR());
    });
    afterAll(() => pipe?.dispose());

    it('hands each document its own vector, in order, in sink batches of batchSize', async () => {
      const batches: VectorRecord[][] = [];
      const sink: VectorSink = { write: async (r) => void batches.push(r), close: async () => {} };
      const n = await streamInto(pipe, docs, sink, { batchSize: 4, pooling: 'mean', normalize: true });
      expect(n).toBe(docs.length);
      expect(batches.map((b) => b.length)).toEqual([4, 2]);
      const want = vectorsOf(
        await pipe(
          docs.map((d) => d.text),
          { pooling: 'mean', normalize: true },
        ),
      );
      const got = batches.flat();
      expect(got.map((r) => r.id)).toEqual(docs.map((d) => d.id));
      expect(got.map((r) => r.text)).toEqual(docs.map((d) => d.text));
      for (const [i, r] of got.entries())
        for (let j = 0; j < r.vector.length; j++) expect(r.vector[j]).toBeCloseTo(want[i][j], 5);
    });

    it('JsonlSink writes {"id","embedding"} lines with float32 precision', async () => {
      const out = new PassThrough();
      const parts: Buffer[] = [];
      out.on('data', (d: Buffer) => parts.push(d));
      await streamInto(pipe, docs.slice(0, 2), new JsonlSink(out), { batchSize: 2, pooling: 'mean' });
      const rows = Buffer.concat(parts)
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const want = vectorsOf(
        await pipe(
          docs.slice(0, 2).map((d) => d.text),
          { pooling: 'mean' },
        ),
      );
      expect(rows.map((r) => r.id)).toEqual(['d0', 'd1']);
      expect(rows[1].embedding).toHaveLength(want[1].length);
      for (let j = 0; j < want[1].length; j++) expect(rows[1].embedding[j]).toBeCloseTo(want[1][j], 6);
    });
  },
);
