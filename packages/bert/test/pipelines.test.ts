import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BertInputError,
  type FeatureExtractionPipeline,
  type FillMaskPipeline,
  pipeline,
  type TextClassificationPipeline,
} from '../src/index.js';
import { GOLD_DIR, haveFixtures, readGolden } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: golden JSON
type Case = any;

// Every pipeline on both runtimes: tfjs, and onnxruntime-node (the same weights compiled to ONNX at load).
describe.skipIf(!haveFixtures('bert pipelines')).each(['tfjs', 'onnx'] as const)(
  'pipelines on bert-tiny-random (HF gold), runtime %s',
  (runtime) => {
    const gold: Case[] = haveFixtures() ? readGolden('bert-tiny-random.json').inputs : [];
    const byName = (n: string) => gold.find((c) => c.name === n);
    let fill: FillMaskPipeline;
    let classify: TextClassificationPipeline;
    let embed: FeatureExtractionPipeline;
    beforeAll(async () => {
      await initBackend('cpu');
      fill = await pipeline('fill-mask', GOLD_DIR(), { runtime });
      classify = await pipeline('text-classification', GOLD_DIR(), { runtime });
      embed = await pipeline('feature-extraction', GOLD_DIR(), { runtime, threads: 1 });
    });
    afterAll(() => {
      for (const p of [fill, classify, embed]) p?.dispose();
    });

    it('fill-mask: HF top-5 ids at the mask, softmax scores, filled sequence', async () => {
      const c = byName('single-2-mask');
      const at = c.input_ids[0].indexOf(103);
      const [predictions] = await fill.call(c.text, { topK: 5 });
      expect(predictions!.map((p) => p.token)).toEqual(c.mlm.top5_ids[0][at]);
      const lse = c.mlm.logsumexp[0][at];
      predictions!.forEach((p, k) => {
        expect(p.score).toBeCloseTo(Math.exp(c.mlm.top5_logits[0][at][k] - lse), 5);
      });
      expect(predictions![0]!.sequence).toBe(
        `paris is the ${predictions![0]!.tokenStr} of france.`.replace(' ##', ''),
      );
      await expect(fill.call('no mask here')).rejects.toThrow(BertInputError);
    });

    it('text-classification: softmax of HF logits, labels from id2label', async () => {
      const c = byName('pair-1');
      const [all] = await classify.call(c.text, { textPair: c.text_pair, topK: null });
      const z = c.seq_cls_logits[0] as number[];
      const sum = z.reduce((s, v) => s + Math.exp(v), 0);
      const expected = z.map((v, i) => ({
        label: ['negative', 'neutral', 'positive'][i],
        score: Math.exp(v) / sum,
      }));
      expected.sort((a, b) => b.score - a.score);
      all!.forEach((r, i) => {
        expect(r.label).toBe(expected[i]!.label);
        expect(r.score).toBeCloseTo(expected[i]!.score, 5);
      });
    });

    it('feature-extraction: CLS and attention-mask-aware mean pooling, L2 normalisation, streaming', async () => {
      const c = byName('batch-3-padded');
      const cls = await embed.call(c.texts, { pooling: 'cls' });
      const mean = await embed.call(c.texts, { pooling: 'mean', normalize: true });
      c.texts.forEach((_: string, i: number) => {
        const hidden = c.last_hidden_state[i] as number[][];
        const real = hidden.filter((_, t) => c.attention_mask[i][t] === 1);
        const avg = hidden[0]!.map((_, d) => real.reduce((s, row) => s + row[d]!, 0) / real.length);
        const norm = Math.hypot(...avg);
        for (let d = 0; d < 32; d++) {
          expect(Math.abs(cls[i]![d]! - hidden[0]![d]!)).toBeLessThan(1e-4);
          expect(Math.abs(mean[i]![d]! - avg[d]! / norm)).toBeLessThan(1e-4);
        }
      });
      async function* docs() {
        yield* c.texts as string[];
      }
      const streamed: Float32Array[] = [];
      for await (const v of embed.stream(docs(), { pooling: 'mean', normalize: true, batchSize: 2 }))
        streamed.push(v);
      expect(streamed.length).toBe(3);
      streamed.forEach((v, i) => {
        for (let d = 0; d < 32; d++) expect(Math.abs(v[d]! - mean[i]![d]!)).toBeLessThan(1e-5);
      });
    });

    it('truncates texts longer than max_position_embeddings instead of failing', async () => {
      const long = 'the quick brown fox '.repeat(100); // 400 words
      const [v] = await embed.call(long, { pooling: 'cls' });
      expect(v!.length).toBe(32);
      const [top] = await classify.call(long);
      expect(top![0]!.score).toBeGreaterThan(0);
    });

    it('leaves no tensor behind across 1,000 pipeline calls', async () => {
      await expectNoLeaks(async () => {
        for (let i = 0; i < 600; i++)
          await embed.call(['short text', `number ${i}`], {
            pooling: i % 2 ? 'cls' : 'mean',
            normalize: i % 3 === 0,
          });
        for (let i = 0; i < 300; i++) await classify.call(`sentence ${i}`, { topK: null });
        for (let i = 0; i < 100; i++) await fill.call(`a [MASK] ${i}.`, { topK: 2 });
      }, '1,000 pipeline calls');
      expect(tf.memory().numTensors).toBeGreaterThan(0);
    });
  },
);
