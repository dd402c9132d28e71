import { initBackend, setSeed, tf } from '@attn/core-tensor';
import { backendsUnderTest, expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradCheck } from '../test/gradcheck.js';
import { uniform } from '../test/reference.js';
import {
  AttentionConfigError,
  AttentionShapeError,
  causalMask,
  combineMasks,
  MultiHeadAttention,
  paddingMask,
  scaledDotProductAttention,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
} from './index.js';

const small = { hiddenSize: 8, numHeads: 2, intermediateSize: 12, std: 0.5 };
const names = (m: { namedParameters(): [string, unknown][] }) =>
  m
    .namedParameters()
    .map(([n]) => n)
    .sort();
const randn = (shape: number[], seed: number) =>
  tf.tensor(
    uniform(
      shape.reduce((a, b) => a * b),
      seed,
    ),
    shape,
  );

/** Perturbs biases and LayerNorm parameters too (they start at 0 and 1), so a misplaced one shows up. */
function perturb(m: { parameters(): { variable: tf.Variable }[] }, seed: number) {
  m.parameters().forEach((p, i) => {
    tf.tidy(() => p.variable.assign(tf.add(p.variable, tf.mul(randn(p.variable.shape, seed + i), 0.3))));
  });
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe("state-dict names are exactly Hugging Face's", () => {
  it("naming 'bert' (BertLayer)", () => {
    const layer = new TransformerEncoderLayer({ ...small, naming: 'bert' });
    const expected = [
      'attention.self.query',
      'attention.self.key',
      'attention.self.value',
      'attention.output.dense',
      'intermediate.dense',
      'output.dense',
    ]
      .flatMap((n) => [`${n}.weight`, `${n}.bias`])
      .concat([
        'attention.output.LayerNorm.weight',
        'attention.output.LayerNorm.bias',
        'output.LayerNorm.weight',
        'output.LayerNorm.bias',
      ]);
    expect(names(layer)).toEqual(expected.sort());
    expect(layer.config.norm).toBe('post');
    layer.dispose();
  });

  it("naming 'vit' (ViTLayer), Linear weights in PyTorch's [out, in] layout", () => {
    const layer = new TransformerEncoderLayer({ ...small, naming: 'vit', qkvBias: false });
    const expected = [
      'attention.attention.query.weight',
      'attention.attention.key.weight',
      'attention.attention.value.weight',
    ].concat(
      [
        'attention.output.dense',
        'intermediate.dense',
        'output.dense',
        'layernorm_before',
        'layernorm_after',
      ].flatMap((n) => [`${n}.weight`, `${n}.bias`]),
    );
    expect(names(layer)).toEqual(expected.sort());
    expect(layer.config.norm).toBe('pre');
    const sd = layer.stateDict();
    expect(sd.get('intermediate.dense.weight')!.shape).toEqual([12, 8]);
    tf.dispose([...sd.values()]);
    layer.dispose();
  });

  it('decoder layer (BertLayer with add_cross_attention) and encoder stack `layer.N`', () => {
    const dec = new TransformerDecoderLayer(small);
    expect(names(dec).filter((n) => n.startsWith('crossattention.'))).toEqual([
      'crossattention.output.LayerNorm.bias',
      'crossattention.output.LayerNorm.weight',
      'crossattention.output.dense.bias',
      'crossattention.output.dense.weight',
      'crossattention.self.key.bias',
      'crossattention.self.key.weight',
      'crossattention.self.query.bias',
      'crossattention.self.query.weight',
      'crossattention.self.value.bias',
      'crossattention.self.value.weight',
    ]);
    expect(names(dec)).toHaveLength(26);
    const enc = new TransformerEncoder(small, 3);
    expect(names(enc).filter((n) => n.endsWith('query.weight'))).toEqual(
      [0, 1, 2].map((i) => `layer.${i}.attention.self.query.weight`),
    );
    dec.dispose();
    enc.dispose();
  });

  it('rejects bad configs with the field name', () => {
    expect(() => new TransformerEncoderLayer({ ...small, numHeads: 3 })).toThrow(AttentionConfigError);
    expect(() => new TransformerEncoderLayer({ ...small, numHeads: 3 })).toThrow(/numHeads/);
    expect(() => new TransformerEncoderLayer({ ...small, intermediateSize: 0 })).toThrow(/intermediateSize/);
    expect(() => new TransformerDecoderLayer({ ...small, naming: 'vit' })).toThrow(/naming/);
    expect(() => new TransformerEncoderLayer({ ...small, hiddenAct: 'swish' as 'gelu' })).toThrow(
      /hiddenAct/,
    );
  });
});

describe('layer behaviour', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    setSeed(7);
  });

  it('MultiHeadAttention equals per-head attention of the projections, concatenated', async () => {
    const mha = new MultiHeadAttention({ hiddenSize: 8, numHeads: 2, std: 0.5 });
    perturb(mha, 10);
    await expectNoLeaks(
      () =>
        tf.tidy(() => {
          const x = randn([2, 3, 8], 1);
          const y = randn([2, 5, 8], 2);
          const { context, weights } = mha.forward(x, { keyValue: y, outputAttentions: true });
          expect(context.shape).toEqual([2, 3, 8]);
          expect(weights!.shape).toEqual([2, 2, 3, 5]);
          // Head 1 by hand: slice columns 4..7 of each projection.
          const head = (lin: typeof mha.query, t: tf.Tensor) =>
            tf.slice(lin.forward(t), [0, 0, 4], [-1, -1, 4]);
          const [q, k, v] = [head(mha.query, x), head(mha.key, y), head(mha.value, y)].map((t) =>
            tf.expandDims(t, 1),
          );
          const ref = scaledDotProductAttention(q!, k!, v!);
          const got = tf.slice(context, [0, 0, 4], [-1, -1, 4]);
          expect(tf.max(tf.abs(tf.sub(got, tf.squeeze(ref.output, [1])))).dataSync()[0]).toBeLessThan(1e-6);
        }),
      'MultiHeadAttention',
    );
    expect(() => mha.forward(tf.zeros([1, 2, 6]))).toThrow(AttentionShapeError);
    mha.dispose();
  });

  it('the decoder is causal: changing later target tokens leaves earlier outputs unchanged', () => {
    const dec = new TransformerDecoderLayer({ ...small, norm: 'pre' });
    perturb(dec, 20);
    const memory = randn([1, 4, 8], 3);
    const a = randn([1, 5, 8], 4);
    const b = tf.concat([tf.slice(a, [0, 0, 0], [1, 3, 8]), randn([1, 2, 8], 5)], 1);
    const mask = causalMask(5);
    const [ha, hb] = [
      dec.forward(a, memory, { selfMask: mask }).hidden,
      dec.forward(b, memory, { selfMask: mask }).hidden,
    ];
    const first3 = (t: tf.Tensor) => Array.from(tf.slice(t, [0, 0, 0], [1, 3, 8]).dataSync());
    expect(first3(ha)).toEqual(first3(hb));
    expect(Array.from(ha.dataSync())).not.toEqual(Array.from(hb.dataSync()));
    dec.dispose();
  });

  it('cross-attention ignores padded memory positions', () => {
    const dec = new TransformerDecoderLayer(small);
    perturb(dec, 30);
    const x = randn([1, 3, 8], 6);
    const m1 = randn([1, 4, 8], 7);
    const m2 = tf.concat([tf.slice(m1, [0, 0, 0], [1, 2, 8]), randn([1, 2, 8], 8)], 1);
    const memoryMask = paddingMask(tf.tensor2d([[1, 1, 0, 0]]));
    const o1 = dec.forward(x, m1, { memoryMask, outputAttentions: true });
    const o2 = dec.forward(x, m2, { memoryMask });
    expect(Array.from(o1.hidden.dataSync())).toEqual(Array.from(o2.hidden.dataSync()));
    const w = o1.crossAttention!.arraySync() as number[][][][];
    for (const row of w[0]!.flat()) expect(row[2]! + row[3]!).toBe(0);
    dec.dispose();
  });

  it('attention weights a layer returns are freed by an enclosing tidy, like any other output', () => {
    const enc = new TransformerEncoderLayer(small);
    const dec = new TransformerDecoderLayer(small);
    const x = randn([1, 4, 8], 5);
    const before = tf.memory().numTensors;
    const kept = tf.tidy(() => {
      const e = enc.forward(x, { outputAttentions: true });
      const d = dec.forward(x, e.hidden, { outputAttentions: true });
      expect(e.attention!.shape).toEqual([1, 2, 4, 4]);
      expect(d.crossAttention!.shape).toEqual([1, 2, 4, 4]);
      return d.selfAttention!; // returned: kept; everything else: freed
    });
    expect(tf.memory().numTensors).toBe(before + 1);
    kept.dispose();
    tf.dispose([x]);
    enc.dispose();
    dec.dispose();
  });

  it('dropout acts only in training mode', () => {
    const layer = new TransformerEncoderLayer({ ...small, hiddenDropout: 0.5, attentionDropout: 0.5 });
    const x = randn([1, 4, 8], 9);
    const e1 = layer.forward(x).hidden.dataSync();
    const e2 = layer.forward(x).hidden.dataSync();
    expect(Array.from(e1)).toEqual(Array.from(e2));
    layer.train();
    const t1 = layer.forward(x).hidden.dataSync();
    expect(Array.from(t1)).not.toEqual(Array.from(e1));
    layer.dispose();
  });
});

// Gradient checks run hundreds of forward passes: cpu and wasm only (webgpu on SwiftShader is slow in CI;
// the core-tensor agreement tests compare webgpu's gradients with cpu's).
const gradBackends = (await backendsUnderTest()).filter((b) => b !== 'webgpu');

describe.each(gradBackends)('finite-difference gradient checks on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
    setSeed(3);
  });

  it('scaledDotProductAttention with a padding + causal mask (d/dq, d/dk, d/dv)', async () => {
    const [q, k, v] = [1, 2, 3].map((s) => tf.variable(randn([2, 2, 4, 3], s)));
    const r = randn([2, 2, 4, 3], 4);
    const am = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
    const [p, c] = [paddingMask(am), causalMask(4)];
    const mask = combineMasks(p, c);
    await expectNoLeaks(() => {
      const loss = () =>
        tf.sum(tf.mul(scaledDotProductAttention(q!, k!, v!, { mask }).output, r)) as tf.Scalar;
      const { worst, checked } = gradCheck(loss, [q!, k!, v!], { samples: 8 });
      expect(checked).toBe(24);
      expect(worst).toBeLessThan(1e-2);
    }, 'gradCheck');
    tf.dispose([q!, k!, v!, r, am, p, c, mask]);
  });

  it.each([
    ['post', 'bert', 'gelu'],
    ['pre', 'vit', 'gelu_new'],
  ] as const)(
    'TransformerEncoderLayer norm=%s naming=%s act=%s (every parameter)',
    (norm, naming, hiddenAct) => {
      const layer = new TransformerEncoderLayer({ ...small, norm, naming, hiddenAct, layerNormEps: 1e-5 });
      perturb(layer, 40);
      const x = randn([2, 3, 8], 11);
      const r = randn([2, 3, 8], 12);
      const am = tf.tensor2d([
        [1, 1, 0],
        [1, 1, 1],
      ]);
      const mask = paddingMask(am);
      const loss = () => tf.sum(tf.mul(layer.forward(x, { mask }).hidden, r)) as tf.Scalar;
      const { worst, checked } = gradCheck(
        loss,
        layer.parameters().map((p) => p.variable),
      );
      expect(checked).toBe(16 * 3);
      expect(worst).toBeLessThan(2e-2);
      tf.dispose([x, r, am, mask]);
      layer.dispose();
    },
  );

  it('TransformerDecoderLayer, including the encoder memory', () => {
    const layer = new TransformerDecoderLayer({ ...small, hiddenAct: 'gelu', layerNormEps: 1e-5 });
    perturb(layer, 50);
    const x = randn([1, 3, 8], 13);
    const memory = tf.variable(randn([1, 4, 8], 14));
    const r = randn([1, 3, 8], 15);
    const selfMask = causalMask(3);
    const loss = () => tf.sum(tf.mul(layer.forward(x, memory, { selfMask }).hidden, r)) as tf.Scalar;
    const { worst } = gradCheck(loss, [memory, ...layer.parameters().map((p) => p.variable)]);
    expect(worst).toBeLessThan(2e-2);
    tf.dispose([x, memory, r, selfMask]);
    layer.dispose();
  });
});
