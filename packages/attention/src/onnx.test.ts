import { initBackend, type Module, setSeed, tf } from '@attn/core-tensor';
import { OnnxGraph, OnnxModuleGraph, OnnxSession, OnnxWeights } from '@attn/core-tensor/onnx';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniform } from '../test/reference.js';
import {
  activation,
  activationOnnx,
  firstToken,
  type HiddenAct,
  MASKED,
  Pooler,
  paddingMask,
  paddingMaskOnnx,
  scaledDotProductAttention,
  scaledDotProductAttentionOnnx,
  TransformerEncoder,
} from './index.js';

const randn = (shape: number[], seed: number, scale = 1) =>
  tf.mul(
    tf.tensor(
      uniform(
        shape.reduce((a, b) => a * b),
        seed,
      ),
      shape,
    ),
    scale,
  );

/** Runs a graph on onnxruntime once; the returned tensors are the caller's. */
async function run(g: OnnxGraph, feeds: Record<string, tf.Tensor>) {
  const session = await OnnxSession.create(g.encode());
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Number.isNaN(x[i]) ? Infinity : Math.abs(x[i] - y[i]));
  return m;
};

let owned: tf.Tensor[] = [];
const own = <T extends tf.Tensor>(t: T) => {
  owned.push(t);
  return t;
};

describe('toOnnx beside forward: onnxruntime computes what tfjs computes', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterEach(() => {
    tf.dispose(owned);
    owned = [];
  });

  it.each(['gelu', 'gelu_new', 'relu'] as HiddenAct[])(
    'activation %s: one formula, both engines',
    async (act) => {
      const x = own(randn([4, 7], 3, 6));
      const g = new OnnxGraph('act');
      g.output('y', activationOnnx(g, act, g.input('x', 'float32', [4, 7])), 'float32', [4, 7]);
      const { y } = await run(g, { x });
      own(y);
      expect(maxAbsDiff(y, own(activation(act)(x)))).toBeLessThan(1e-5);
    },
  );

  it('scaled dot-product attention keeps the softmax floor: a row masked with −∞ is uniform, not NaN', async () => {
    const [q, k, v] = [own(randn([2, 2, 3, 4], 1)), own(randn([2, 2, 5, 4], 2)), own(randn([2, 2, 5, 4], 4))];
    // Batch 0 attends to 3 keys; batch 1's keys are all −∞ (a caller's mask), the case WebGPU turns into NaN.
    const row = (n: number, off: number) => Array.from({ length: 5 }, (_, i) => (i < n ? 0 : off));
    const mask = own(tf.tensor4d([...row(3, MASKED), ...row(0, -Infinity)], [2, 1, 1, 5]));
    const g = new OnnxGraph('sdpa');
    const input = (name: string, t: tf.Tensor) => g.input(name, 'float32', t.shape);
    const out = scaledDotProductAttentionOnnx(
      g,
      input('q', q),
      input('k', k),
      input('v', v),
      4,
      input('m', mask),
    );
    g.output('y', out, 'float32', [2, 2, 3, 4]);
    const { y } = await run(g, { q, k, v, m: mask });
    own(y);
    const want = scaledDotProductAttention(q, k, v, { mask });
    own(want.output);
    own(want.weights);
    expect(maxAbsDiff(y, want.output)).toBeLessThan(1e-5);
    // The uniform row averages v: a check by hand that does not trust either engine.
    const mean = own(tf.mean(tf.slice(v, [1, 0, 0, 0], [1, 2, 5, 4]), 2, true));
    expect(maxAbsDiff(own(tf.slice(y, [1, 0, 0, 0], [1, 2, 1, 4])), mean)).toBeLessThan(1e-5);
  });

  it.each([
    ['post', 'bert', 'gelu'],
    ['pre', 'vit', 'gelu_new'],
  ] as const)(
    'a %s-LN encoder (%s names, %s) with a padding mask, every weight read once',
    async (norm, naming, act) => {
      setSeed(7);
      const config = {
        hiddenSize: 8,
        numHeads: 2,
        intermediateSize: 12,
        std: 0.5,
        norm,
        naming,
        hiddenAct: act,
      };
      const encoder = new TransformerEncoder(config, 2).eval();
      // Biases and LayerNorm start at 0 and 1: move them so a misplaced one shows.
      encoder.parameters().forEach((p, i) => {
        tf.tidy(() => p.variable.assign(tf.add(p.variable, randn(p.variable.shape, 20 + i, 0.3))));
      });
      const x = own(randn([2, 5, 8], 9));
      const attention = own(tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 5], 'int32'));
      const g = await expectNoLeaks(() => {
        const graph = new OnnxModuleGraph('encoder', encoder, OnnxWeights.fromModule(encoder));
        const mask = paddingMaskOnnx(graph, graph.input('attention_mask', 'int64', [2, 5]));
        graph.output(
          'y',
          encoder.toOnnx(graph, graph.input('x', 'float32', [2, 5, 8]), mask),
          'float32',
          [2, 5, 8],
        );
        graph.checkAllRead('encoder');
        return graph;
      }, 'toOnnx');
      const { y } = await run(g, { x, attention_mask: attention });
      own(y);
      const m = own(paddingMask(attention));
      const want = own(encoder.forward(x, { mask: m }).lastHidden);
      expect(maxAbsDiff(y, want)).toBeLessThan(1e-4);
      encoder.dispose();
    },
  );

  it('a parameter outside the walked tree, or a weight never read, is an error', () => {
    const encoder = new TransformerEncoder({ hiddenSize: 8, numHeads: 2, intermediateSize: 12 }, 1);
    const other = new TransformerEncoder({ hiddenSize: 8, numHeads: 2, intermediateSize: 12 }, 1);
    const g = new OnnxModuleGraph('encoder', encoder, OnnxWeights.fromModule(encoder));
    expect(() => other.toOnnx(g, g.input('x', 'float32', [1, 2, 8]))).toThrow(/not part of the exported/);
    const unread = new OnnxModuleGraph('encoder', encoder, OnnxWeights.fromModule(encoder));
    expect(() => unread.checkAllRead('encoder')).toThrow(
      /would drop weights: layer\.0\.attention\.self\.query\.weight/,
    );
    for (const m of [encoder, other] as Module[]) m.dispose();
  });
});

describe('Pooler: the one definition of BertPooler and ViTPooler', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('is tanh(W·x₀ + b) on the first token, named pooler.dense.*, and its ONNX nodes compute the same', async () => {
    const pooler = new Pooler(2);
    expect(pooler.parameters().length).toBe(2);
    // W = [[1, 2], [−1, 0.5]] (torch's [out, in]), b = [0.1, −0.2]; only token 0 may matter.
    const W = own(tf.tensor2d([1, 2, -1, 0.5], [2, 2]));
    const b = own(tf.tensor1d([0.1, -0.2]));
    expect(pooler.namedParameters().map(([n]) => n)).toEqual(['dense.weight', 'dense.bias']);
    pooler.loadStateDict(
      new Map<string, tf.Tensor>([
        ['dense.weight', W],
        ['dense.bias', b],
      ]),
    );
    // loads bit-exact: the state dict it gives back is the one it was given
    const back = pooler.stateDict();
    expect([...back.get('dense.weight')!.dataSync()]).toEqual([...W.dataSync()]);
    tf.dispose([...back.values()]);
    const hidden = own(tf.tensor3d([0.5, -1, 9, 9, 2, 0, -7, 3], [2, 2, 2]));
    await expectNoLeaks(() => pooler.forward(hidden).dispose(), 'Pooler.forward');
    const y = own(pooler.forward(hidden));
    const want = [
      [Math.tanh(0.5 - 2 + 0.1), Math.tanh(-0.5 - 0.5 - 0.2)],
      [Math.tanh(2 + 0.1), Math.tanh(-2 - 0.2)],
    ];
    expect(y.shape).toEqual([2, 2]);
    const got = y.arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(got[i]![j]).toBeCloseTo(want[i]![j]!, 6);
    expect(own(firstToken(hidden)).arraySync()).toEqual([
      [0.5, -1],
      [2, 0],
    ]);

    const g = new OnnxModuleGraph('pooler', pooler, OnnxWeights.fromModule(pooler));
    g.output('y', pooler.toOnnx(g, g.input('h', 'float32', [2, 2, 2])), 'float32', [2, 2]);
    g.checkAllRead('pooler');
    const { y: onnx } = await run(g, { h: hidden });
    own(onnx);
    expect(maxAbsDiff(onnx, y)).toBeLessThan(1e-6);
    tf.dispose(owned);
    owned = [];
  });
});
