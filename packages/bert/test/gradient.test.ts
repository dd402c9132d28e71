import { initBackend, type Parameter, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '../src/index.js';
import { GOLD_DIR, haveFixtures, readGolden } from './helpers.js';

/** One fine-tuning step on the fixture classifier: loss against HF's logits, gradients against finite differences. */
describe.skipIf(!haveFixtures('bert gradients'))('fine-tuning gradients on bert-tiny-random', () => {
  let model: BertForSequenceClassification;
  // biome-ignore lint/suspicious/noExplicitAny: golden JSON
  const c: any = haveFixtures()
    ? readGolden('bert-tiny-random.json').inputs.find((x: any) => x.name === 'batch-3-padded')
    : {};
  const labels = [0, 2, 1];
  const inputs = () => ({
    inputIds: c.input_ids,
    attentionMask: c.attention_mask,
    tokenTypeIds: c.token_type_ids,
    labels,
  });
  const lossValue = () => tf.tidy(() => model.forward(inputs()).loss!.dataSync()[0]!);

  beforeAll(async () => {
    await initBackend('cpu');
    model = await BertForSequenceClassification.fromPretrained(GOLD_DIR()); // eval mode: dropout off
  });
  afterAll(() => model?.dispose());

  it('loss is the cross-entropy of HF logits', () => {
    const expected =
      labels
        .map((y, i) => {
          const z = c.seq_cls_logits[i] as number[];
          const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
          return lse - z[y]!;
        })
        .reduce((a, b) => a + b) / labels.length;
    expect(lossValue()).toBeCloseTo(expected, 5);
  });

  it('gradients agree with central finite differences', async () => {
    const params = new Map(model.namedParameters());
    // [parameter, flat index in its in-memory layout]: head, a mid-layer weight, a LayerNorm, a used embedding row.
    const probes: [string, number][] = [
      ['classifier.weight', 5],
      ['classifier.bias', 2],
      ['bert.pooler.dense.weight', 100],
      ['bert.encoder.layer.0.attention.self.query.weight', 37],
      ['bert.encoder.layer.1.output.LayerNorm.weight', 3],
      ['bert.embeddings.word_embeddings.weight', 2023 * 32 + 7], // "this" is in the batch
      ['bert.embeddings.position_embeddings.weight', 4 * 32 + 1],
    ];
    await expectNoLeaks(() => {
      const vars = probes.map(([n]) => params.get(n)!.value);
      const { value, grads } = tf.variableGrads(() => model.forward(inputs()).loss!, vars);
      value.dispose();
      for (const [name, index] of probes) {
        const p = params.get(name)!;
        const analytic = grads[p.value.name]!.dataSync()[index]!;
        const numeric = finiteDifference(p, index, lossValue);
        expect(
          Math.abs(analytic - numeric),
          `${name}[${index}]: analytic ${analytic}, numeric ${numeric}`,
        ).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
      }
      tf.dispose(Object.values(grads));
    }, 'gradient check');
  });
});

/** (L(θ + ε) − L(θ − ε)) / 2ε for one entry, restoring the parameter afterwards. */
function finiteDifference(p: Parameter, index: number, loss: () => number, eps = 1e-2): number {
  const original = p.value.dataSync().slice();
  const at = (delta: number) => {
    const moved = original.slice();
    moved[index]! += delta;
    tf.tidy(() => p.value.assign(tf.tensor(moved, p.shape)));
    return loss();
  };
  const numeric = (at(eps) - at(-eps)) / (2 * eps);
  tf.tidy(() => p.value.assign(tf.tensor(original, p.shape)));
  return numeric;
}
