import { type BackendName, initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { BertTokenizer } from '@attn/text-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForPreTraining, BertForSequenceClassification, BertModel } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: golden JSON, checked field by field
type GoldenCase = any;

import { backends, expectClose, GOLD_DIR, haveFixtures, readGolden, shapeOf } from './helpers.js';

const TOL = 1e-4;
const BACKENDS = await backends();

describe.skipIf(!haveFixtures('bert golden'))('BERT matches Hugging Face on bert-tiny-random', () => {
  const gold = haveFixtures() ? readGolden('bert-tiny-random.json') : { inputs: [] };
  const fullRows = haveFixtures() ? readGolden('bert-tiny-random-mlm-logits.json').rows : [];

  describe.each(BACKENDS)('%s', (backend) => {
    let base: BertModel;
    let pre: BertForPreTraining;
    let cls: BertForSequenceClassification;
    beforeAll(async () => {
      await initBackend(backend as BackendName);
      base = await BertModel.fromPretrained(GOLD_DIR());
      pre = await BertForPreTraining.fromPretrained(GOLD_DIR());
      cls = await BertForSequenceClassification.fromPretrained(GOLD_DIR());
    });
    afterAll(() => {
      for (const m of [base, pre, cls]) m?.dispose();
    });

    it('reports the other head as unexpected, as HF does', () => {
      const info = gold.meta.loading_info;
      expect(pre.loadingInfo).toEqual({ missing: [], unexpected: info.BertForPreTraining.unexpected_keys });
      expect(cls.loadingInfo!.missing).toEqual([]);
      expect([...cls.loadingInfo!.unexpected].sort()).toEqual(
        info.BertForSequenceClassification.unexpected_keys,
      );
      expect(base.loadingInfo!.missing).toEqual([]);
    });

    it.each(gold.inputs as GoldenCase[])('$name', async (c) => {
      // From the golden texts: the tokenizer must give HF's ids before the model sees them.
      const tok = await BertTokenizer.fromPretrained(GOLD_DIR());
      const encs = c.texts
        ? tok.encodeBatch(c.texts, { padding: true })
        : [c.text_pair === undefined ? tok.encode(c.text) : tok.encode(c.text, c.text_pair)];
      expect(encs.map((e) => e.inputIds)).toEqual(c.input_ids);
      expect(encs.map((e) => e.tokenTypeIds)).toEqual(c.token_type_ids);
      expect(encs.map((e) => e.attentionMask)).toEqual(c.attention_mask);
      expect(encs.map((e) => e.tokens)).toEqual(c.tokens);
      const inputs = {
        inputIds: encs.map((e) => e.inputIds),
        attentionMask: encs.map((e) => e.attentionMask),
        tokenTypeIds: encs.map((e) => e.tokenTypeIds),
      };
      await expectNoLeaks(async () => {
        const out = base.forward(inputs, { outputHiddenStates: true, outputAttentions: true });
        await expectClose(out.lastHiddenState, c.last_hidden_state, TOL, 'last_hidden_state');
        expect(out.lastHiddenState.shape).toEqual(shapeOf(c.last_hidden_state));
        await expectClose(out.poolerOutput!, c.pooler_output, TOL, 'pooler_output');
        for (const [i, h] of c.hidden_states.entries())
          await expectClose(out.hiddenStates![i]!, h, TOL, `hidden_states[${i}]`);
        if (c.attentions_layer0)
          await expectClose(out.attentions![0]!, c.attentions_layer0, TOL, 'attentions_layer0');
        for (const [i, a] of (c.attentions_all_layers ?? []).entries())
          await expectClose(out.attentions![i]!, a, TOL, `attentions[${i}]`);
        tf.dispose([out.lastHiddenState, out.poolerOutput!, ...out.hiddenStates!, ...out.attentions!]);

        const p = pre.forward(inputs);
        await expectClose(p.seqRelationshipLogits!, c.nsp_logits, TOL, 'nsp_logits');
        await checkMlm(p.predictionLogits!, c);
        for (const row of fullRows.filter((r: { input: string }) => r.input === c.name))
          for (const [k, pos] of row.positions.entries()) {
            const got = tf.tidy(() => tf.slice(p.predictionLogits!, [row.batch_index, pos, 0], [1, 1, -1]));
            await expectClose(got, row.logits[k], TOL, `full MLM row at position ${pos}`);
            got.dispose();
          }
        tf.dispose([p.predictionLogits!, p.seqRelationshipLogits!]);

        const s = cls.forward(inputs);
        await expectClose(s.logits, c.seq_cls_logits, TOL, 'seq_cls_logits');
        s.logits.dispose();
      }, c.name);
    });
  });
});

/** The MLM summaries: argmax, top-5, logsumexp, mean and the probe columns of the [B, T, V] logits. */
async function checkMlm(logits: tf.Tensor3D, c: GoldenCase) {
  const m = c.mlm;
  const top = tf.topk(logits, 5);
  const [argmax, lse, mean, probe] = [
    tf.argMax(logits, -1),
    tf.logSumExp(logits, -1),
    tf.mean(logits, -1),
    tf.gather(logits, m.probe_ids, 2),
  ];
  expect(await argmax.array(), 'mlm.argmax').toEqual(m.argmax);
  await expectClose(top.values, m.top5_logits, TOL, 'mlm.top5_logits');
  expect(await top.indices.array(), 'mlm.top5_ids').toEqual(m.top5_ids);
  await expectClose(lse, m.logsumexp, TOL, 'mlm.logsumexp');
  await expectClose(mean, m.mean, TOL, 'mlm.mean');
  await expectClose(probe, m.probe_logits, TOL, 'mlm.probe_logits');
  tf.dispose([top.values, top.indices, argmax, lse, mean, probe]);
}
