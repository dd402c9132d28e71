import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BertForSequenceClassification,
  BertInputError,
  BertModel,
  BertOnnxRuntime,
  type FeatureExtractionPipeline,
  type FillMaskPipeline,
  pipeline,
  type TextClassificationPipeline,
} from '../src/index.js';
import { expectClose, GOLD_DIR, haveFixtures, readGolden } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: golden JSON
type Case = any;

describe.skipIf(!haveFixtures('bert onnx runtime'))(
  "runtime: 'onnx' (onnxruntime-node) on bert-tiny-random",
  () => {
    const gold: Case[] = haveFixtures() ? readGolden('bert-tiny-random.json').inputs : [];
    const byName = (n: string) => gold.find((c) => c.name === n);
    let fill: FillMaskPipeline;
    let classify: TextClassificationPipeline;
    let embed: FeatureExtractionPipeline;
    beforeAll(async () => {
      await initBackend('cpu');
      fill = await pipeline('fill-mask', GOLD_DIR(), { runtime: 'onnx' });
      classify = await pipeline('text-classification', GOLD_DIR(), { runtime: 'onnx' });
      embed = await pipeline('feature-extraction', GOLD_DIR(), { runtime: 'onnx', threads: 1 });
    });
    afterAll(() => {
      for (const p of [fill, classify, embed]) p?.dispose();
    });

    it('BertOnnxRuntime.forward gives HF last hidden state and pooler output (padded batch)', async () => {
      const c = byName('batch-3-padded');
      const model = await BertModel.fromPretrained(GOLD_DIR());
      const runtime = await BertOnnxRuntime.fromModel(model);
      model.dispose();
      const out = await runtime.forward({ inputIds: c.input_ids, attentionMask: c.attention_mask });
      await expectClose(out.lastHiddenState!, c.last_hidden_state, 1e-4, 'last_hidden_state');
      await expectClose(out.poolerOutput!, c.pooler_output, 1e-4, 'pooler_output');
      tf.dispose(Object.values(out));
      // the same input checks as model.forward
      await expect(runtime.forward({ inputIds: [[101, 999999, 102]] })).rejects.toThrow(BertInputError);
      await runtime.dispose();
    });

    it('BertOnnxRuntime.fromPretrained: weights from the file (no tfjs copy); a missing head goes through tfjs', async () => {
      const c = byName('batch-3-padded');
      const direct = await expectNoLeaks(
        () => BertOnnxRuntime.fromPretrained(GOLD_DIR(), BertModel),
        'fromPretrained',
      );
      const out = await direct.forward({ inputIds: c.input_ids, attentionMask: c.attention_mask });
      await expectClose(out.lastHiddenState!, c.last_hidden_state, 1e-4, 'last_hidden_state (from file)');
      tf.dispose(Object.values(out));
      await direct.dispose();
      // A bare encoder checkpoint has no classifier: it is initialised as fromPretrained does (2 labels asked).
      const dir = mkdtempSync(join(tmpdir(), 'attn-onnx-'));
      const base = await BertModel.fromPretrained(GOLD_DIR());
      await base.save(dir);
      base.dispose();
      const headless = await BertOnnxRuntime.fromPretrained(dir, BertForSequenceClassification, {
        config: { num_labels: 2 },
      });
      const { logits } = await headless.forward({ inputIds: c.input_ids, attentionMask: c.attention_mask });
      expect(logits!.shape).toEqual([3, 2]);
      logits!.dispose();
      await headless.dispose();
    });

    it('fill-mask: HF top-5 ids and softmax scores', async () => {
      const c = byName('single-2-mask');
      const at = c.input_ids[0].indexOf(103);
      const [predictions] = await fill.call(c.text, { topK: 5 });
      expect(predictions!.map((p) => p.token)).toEqual(c.mlm.top5_ids[0][at]);
      const lse = c.mlm.logsumexp[0][at];
      predictions!.forEach((p, k) => {
        expect(Math.abs(p.score - Math.exp(c.mlm.top5_logits[0][at][k] - lse))).toBeLessThan(1e-5);
      });
    });

    it('text-classification: softmax of HF logits', async () => {
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
        expect(Math.abs(r.score - expected[i]!.score)).toBeLessThan(1e-5);
      });
    });

    it('feature-extraction: CLS vectors equal HF, and no tensor is left behind over 200 calls', async () => {
      const c = byName('batch-3-padded');
      const cls = await embed.call(c.texts, { pooling: 'cls' });
      c.texts.forEach((_: string, i: number) => {
        for (let d = 0; d < 32; d++)
          expect(Math.abs(cls[i]![d]! - c.last_hidden_state[i][0][d])).toBeLessThan(1e-4);
      });
      await expectNoLeaks(async () => {
        for (let i = 0; i < 100; i++) await embed.call(['short text', `number ${i}`], { normalize: true });
        for (let i = 0; i < 50; i++) await classify.call(`sentence ${i}`);
        for (let i = 0; i < 50; i++) await fill.call(`a [MASK] ${i}.`, { topK: 2 });
      }, '200 onnx pipeline calls');
    });

    it('an unknown runtime is a clear error', async () => {
      await expect(pipeline('feature-extraction', GOLD_DIR(), { runtime: 'gpu' as 'onnx' })).rejects.toThrow(
        /unknown runtime "gpu"/,
      );
    });
  },
);
