import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { backendsUnderTest, expectNoLeaks, deterministicValues as values } from '../testing.js';
import { initBackend } from './init.js';

/** Loads deterministic weights (init is random) and disposes the tensors it made. */
function load(m: Linear | LayerNorm | Embedding, shapes: Record<string, number[]>, seed: number) {
  const sd = new Map(Object.entries(shapes).map(([n, shape], i) => [n, t(shape, seed + i)]));
  m.loadStateDict(sd);
  tf.dispose([...sd.values()]);
}
const t = (shape: number[], seed: number, scale = 1) =>
  tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
    shape,
  );

/** Reads every result asynchronously (webgpu has no cheap sync read) and disposes it. */
async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  const out = await Promise.all(ts.map((x) => x.data() as Promise<Float32Array>));
  tf.dispose(ts);
  return out;
}

/** Each case returns its forward output followed by its gradients. */
const cases: Record<string, () => Promise<Float32Array[]>> = {
  async matmul() {
    const [a, b, w] = [t([5, 7], 1), t([7, 3], 2), t([5, 3], 3)];
    const f = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), w));
    const res = [tf.matMul(a, b), ...tf.grads(f)([a, b])];
    tf.dispose([a, b, w]);
    return read(res);
  },
  async 'batched matmul (transposed b)'() {
    const [a, b, w] = [t([2, 3, 4, 8], 4), t([2, 3, 6, 8], 5), t([2, 3, 4, 6], 6)];
    const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D, false, true);
    const res = [mm(a, b), ...tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y), w)))([a, b])];
    tf.dispose([a, b, w]);
    return read(res);
  },
  async 'linear (fused matmul + bias)'() {
    const lin = new Linear(8, 5);
    load(lin, { weight: [5, 8], bias: [5] }, 30);
    const x = t([2, 3, 8], 7);
    const w = t([2, 3, 5], 8);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(lin.forward(x), w)) as tf.Scalar,
      lin.parameters().map((p) => p.variable),
    );
    const res = [value, ...Object.values(grads)];
    tf.dispose([x, w]);
    lin.dispose();
    return read(res);
  },
  async softmax() {
    const [x, w] = [t([3, 11], 9, 4), t([3, 11], 10)];
    const res = [tf.softmax(x), ...tf.grads((y: tf.Tensor) => tf.sum(tf.mul(tf.softmax(y), w)))([x])];
    tf.dispose([x, w]);
    return read(res);
  },
  async 'layer norm'() {
    const ln = new LayerNorm(16, 1e-12);
    load(ln, { weight: [16], bias: [16] }, 11);
    const [x, w] = [t([2, 3, 16], 13, 3), t([2, 3, 16], 14)];
    const vars = ln.parameters().map((p) => p.variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(ln.forward(x), w)) as tf.Scalar, vars);
    const dx = tf.grads((y: tf.Tensor) => tf.sum(tf.mul(ln.forward(y), w)))([x]);
    const res = [ln.forward(x), value, ...Object.values(grads), ...dx];
    tf.dispose([x, w]);
    ln.dispose();
    return read(res);
  },
  // GELU (in @attn/attention) is built on erf, the op whose kernels differ most between backends.
  async erf() {
    const [x, w] = [t([64], 15, 5), t([64], 16)];
    const res = [tf.erf(x), ...tf.grads((y: tf.Tensor) => tf.sum(tf.mul(tf.erf(y), w)))([x])];
    tf.dispose([x, w]);
    return read(res);
  },
  async 'gather (embedding, repeated ids)'() {
    const emb = new Embedding(10, 4);
    load(emb, { weight: [10, 4] }, 40);
    const ids = tf.tensor2d(
      [
        [1, 3, 3],
        [0, 9, 1],
      ],
      [2, 3],
      'int32',
    );
    const w = t([2, 3, 4], 17);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(emb.forward(ids), w)) as tf.Scalar,
      emb.parameters().map((p) => p.variable),
    );
    const res = [emb.forward(ids), value, ...Object.values(grads)];
    tf.dispose([ids, w]);
    emb.dispose();
    return read(res);
  },
};

const backends = await backendsUnderTest();
const reference = new Map<string, Float32Array[]>();

describe('cpu, wasm and webgpu agree to 1e-5 on the core ops and their gradients', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    for (const [name, run] of Object.entries(cases)) reference.set(name, await run());
  });

  it('the cpu reference matches values computed by hand', () => {
    // softmax rows sum to 1; layer-norm output rows have mean β̄ when γ = 1 (checked below).
    const [sm] = reference.get('softmax')!;
    for (let r = 0; r < 3; r++)
      expect(sm!.subarray(r * 11, r * 11 + 11).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const a = values(35, 1);
    const b = values(21, 2);
    let c00 = 0;
    for (let k = 0; k < 7; k++) c00 += a[k]! * b[k * 3]!;
    expect(reference.get('matmul')![0]![0]).toBeCloseTo(c00, 6);
    // d/dW of sum((E[ids])·w) adds w's rows for every occurrence: id 3 appears twice.
    const w = values(24, 17);
    const gradW = reference.get('gather (embedding, repeated ids)')![2]!;
    for (let j = 0; j < 4; j++) expect(gradW[3 * 4 + j]).toBeCloseTo(w[1 * 4 + j]! + w[2 * 4 + j]!, 6);
    expect([...gradW.subarray(2 * 4, 3 * 4)]).toEqual([0, 0, 0, 0]); // id 2 unused
  });

  describe.each(backends)('%s', (backend) => {
    beforeAll(async () => {
      await initBackend(backend);
    });
    it.each(Object.keys(cases))('%s', async (name) => {
      const got = await expectNoLeaks(() => cases[name]!(), `${name} on ${backend}`);
      const want = reference.get(name)!;
      expect(got.length).toBe(want.length);
      for (const [i, g] of got.entries()) {
        expect(g.length).toBe(want[i]!.length);
        let worst = 0;
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j]! - want[i]![j]!));
        expect(worst, `${name} output ${i} on ${backend}`).toBeLessThanOrEqual(1e-5);
      }
    });
  });
});
