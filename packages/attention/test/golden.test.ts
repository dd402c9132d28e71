/**
 * The shared gold test: Hugging Face's own BERT and ViT encoder weights, loaded by name into
 * TransformerEncoder, reproduce HF's hidden states and layer-0 attention probabilities.
 */
import { readFileSync } from 'node:fs';
import { initBackend, loadSafetensors, tf } from '@attn/core-tensor';
import { backendsUnderTest, expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { paddingMask, TransformerEncoder } from '../src/index.js';
import { flat, maxAbsDiff } from './helpers.js';

type Json = Record<string, unknown>;
const readJson = (...p: string[]) => JSON.parse(readFileSync(fixturePath(...p), 'utf8')) as Json;

async function encoderFrom(model: string, prefix: string, naming: 'bert' | 'vit') {
  const cfg = readJson(model, 'config.json') as Record<string, number & string>;
  const encoder = new TransformerEncoder(
    {
      hiddenSize: cfg.hidden_size,
      numHeads: cfg.num_attention_heads,
      intermediateSize: cfg.intermediate_size,
      hiddenAct: cfg.hidden_act,
      layerNormEps: cfg.layer_norm_eps,
      naming,
    },
    cfg.num_hidden_layers,
  );
  const all = await loadSafetensors(fixturePath(model, 'model.safetensors'));
  const mine = new Map(
    [...all].filter(([n]) => n.startsWith(prefix)).map(([n, t]) => [n.slice(prefix.length), t]),
  );
  encoder.loadStateDict(mine); // strict: every name must match HF's exactly
  tf.dispose([...all.values()]);
  return encoder;
}

const backends = haveFixtures('attention gold tests') ? await backendsUnderTest() : [];

describe.each(backends)('gold: HF encoder layers on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('BERT (post-LN) reproduces hidden_states and attentions_layer0 of every input', async () => {
    const gold = readJson('golden', 'bert-tiny-random.json') as { inputs: Json[] };
    const encoder = await encoderFrom('bert-tiny-random', 'bert.encoder.', 'bert');
    let withAttention = 0;
    for (const input of gold.inputs) {
      const hs = input.hidden_states as number[][][][]; // [3, B, T, 32]
      const [B, T] = [hs[0]!.length, hs[0]![0]!.length];
      await expectNoLeaks(async () => {
        const x = tf.tensor(flat(hs[0]!), [B, T, 32]);
        const am = tf.tensor2d(input.attention_mask as number[][]);
        const mask = paddingMask(am);
        const out = encoder.forward(x, { mask, outputAttentions: true, outputHiddenStates: true });
        for (const i of [1, 2])
          expect(
            maxAbsDiff(await out.hiddenStates![i]!.data(), flat(hs[i]!)),
            `${input.name} layer ${i}`,
          ).toBeLessThan(1e-5);
        if (input.attentions_layer0) {
          withAttention++;
          expect(
            maxAbsDiff(await out.attentions![0]!.data(), flat(input.attentions_layer0 as number[])),
          ).toBeLessThan(1e-5);
        }
        if (input.attentions_all_layers) {
          const all = input.attentions_all_layers as number[][];
          expect(maxAbsDiff(await out.attentions![1]!.data(), flat(all[1]!))).toBeLessThan(1e-5);
        }
        tf.dispose([x, am, mask, out.lastHidden, ...out.hiddenStates!, ...out.attentions!]);
      }, String(input.name));
    }
    expect(withAttention).toBe(2);
    encoder.dispose();
  });

  it('BERT: padded keys get probability exactly 0', async () => {
    const gold = readJson('golden', 'bert-tiny-random.json') as { inputs: Json[] };
    const input = gold.inputs.find((i) => (i.attention_mask as number[][]).flat().includes(0))!;
    const am = input.attention_mask as number[][];
    const encoder = await encoderFrom('bert-tiny-random', 'bert.encoder.', 'bert');
    const hs = input.hidden_states as number[][][][];
    const [B, T] = [am.length, am[0]!.length];
    const x = tf.tensor(flat(hs[0]!), [B, T, 32]);
    const mask = paddingMask(tf.tensor2d(am));
    const out = encoder.forward(x, { mask, outputAttentions: true });
    const w = (await out.attentions![0]!.array()) as number[][][][];
    let zeros = 0;
    for (let b = 0; b < B; b++)
      for (let k = 0; k < T; k++)
        if (am[b]![k] === 0)
          for (const head of w[b]!)
            for (const row of head) {
              expect(row[k]).toBe(0);
              zeros++;
            }
    expect(zeros).toBeGreaterThan(0);
    tf.dispose([x, mask, out.lastHidden, ...out.attentions!]);
    encoder.dispose();
  });

  it('ViT (pre-LN) reproduces hidden_states of every image and attentions_layer0', async () => {
    const gold = readJson('golden', 'vit-tiny-random.json') as { images: Json[] };
    const encoder = await encoderFrom('vit-tiny-random', 'vit.encoder.', 'vit');
    for (const image of gold.images) {
      const hs = image.hidden_states as number[][][][]; // [3, 1, 17, 32]
      await expectNoLeaks(async () => {
        const x = tf.tensor(flat(hs[0]!), [1, 17, 32]);
        const out = encoder.forward(x, { outputAttentions: true, outputHiddenStates: true });
        for (const i of [1, 2])
          expect(
            maxAbsDiff(await out.hiddenStates![i]!.data(), flat(hs[i]!)),
            `${image.image} layer ${i}`,
          ).toBeLessThan(1e-5);
        if (image.attentions_layer0)
          expect(
            maxAbsDiff(await out.attentions![0]!.data(), flat(image.attentions_layer0 as number[])),
          ).toBeLessThan(1e-5);
        tf.dispose([x, out.lastHidden, ...out.hiddenStates!, ...out.attentions!]);
      }, String(image.image));
    }
    encoder.dispose();
  });
});
