import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BertForSequenceClassification,
  BertInputError,
  BertModel,
  BertOnnxRuntime,
  pipeline,
} from '../src/index.js';
import { expectClose, GOLD_DIR, haveFixtures, readGolden } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: golden JSON
type Case = any;

// The pipelines with runtime 'onnx' are tested beside the tfjs ones, in pipelines.test.ts.
describe.skipIf(!haveFixtures('bert onnx runtime'))(
  'BertOnnxRuntime (onnxruntime-node) on bert-tiny-random',
  () => {
    const gold: Case[] = haveFixtures() ? readGolden('bert-tiny-random.json').inputs : [];
    const byName = (n: string) => gold.find((c) => c.name === n);
    beforeAll(() => initBackend('cpu'));

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

    it('an unknown runtime is a clear error', async () => {
      await expect(pipeline('feature-extraction', GOLD_DIR(), { runtime: 'gpu' as 'onnx' })).rejects.toThrow(
        /unknown runtime "gpu"/,
      );
    });
  },
);
