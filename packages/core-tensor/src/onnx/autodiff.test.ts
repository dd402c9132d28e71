import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { layerNorm } from '../nn/layers.js';
import { deterministicValues, haveOnnxRuntime } from '../testing.js';
import { appendGradients } from './autodiff.js';
import { OnnxGraph, OnnxGraphError, onnxFloat } from './graph.js';
import { OnnxSession } from './session.js';

const haveOrt = await haveOnnxRuntime('the gradient checks');

interface In {
  shape: number[];
  /** Values for an int64 input (no gradient taken). */
  ints?: number[];
  /** A float input the gradient is not taken for (pixels into a Conv). */
  noGrad?: boolean;
}

/**
 * The gradients appendGradients gives for loss = Σ f(x…) ⊙ R (R random, so dy is not all ones) against
 * tfjs's tf.grads of the same function, for every float input.
 */
async function expectGradsMatch(
  ins: In[],
  onnx: (g: OnnxGraph, xs: string[]) => string,
  tfFn: (...xs: tf.Tensor[]) => tf.Tensor,
) {
  const g = new OnnxGraph('grad-test');
  const names = ins.map((v, i) => g.input(`x${i}`, v.ints ? 'int64' : 'float32', v.shape));
  const y = onnx(g, names);
  const feeds = ins.map((v, i) =>
    v.ints
      ? tf.tensor(v.ints, v.shape, 'int32')
      : tf.tensor(
          deterministicValues(
            v.shape.reduce((a, b) => a * b, 1),
            10 + i,
          ),
          v.shape,
        ),
  );
  const yShape = tf.tidy(() => tfFn(...feeds).shape);
  const R = deterministicValues(
    yShape.reduce((a, b) => a * b, 1),
    99,
  );
  const loss = g.node('ReduceSum', [g.node('Mul', [y, g.constFloat(Array.from(R), yShape)])], {
    keepdims: 0,
  });
  const floats = names.filter((_, i) => !ins[i]!.ints && !ins[i]!.noGrad);
  const grads = appendGradients(g, loss, floats);
  for (const n of floats) g.output(`grad_${n}`, grads.get(n)!, 'float32', ins[names.indexOf(n)]!.shape);
  const session = await OnnxSession.create(g.encode(), { threads: 1 });
  const out = await session.run(Object.fromEntries(names.map((n, i) => [n, feeds[i]!])));
  await session.dispose();
  const floatIdx = ins.flatMap((v, i) => (v.ints || v.noGrad ? [] : [i]));
  const want = tf.grads((...xs: tf.Tensor[]) => {
    const all = feeds.map((f, i) => (floatIdx.includes(i) ? xs[floatIdx.indexOf(i)]! : f));
    return tf.sum(tf.mul(tfFn(...all), tf.tensor(R, yShape)));
  })(floatIdx.map((i) => feeds[i]!));
  floatIdx.forEach((i, k) => {
    const got = out[`grad_x${i}`]!;
    expect(got.shape).toEqual(ins[i]!.shape);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want[k]!))).dataSync()[0]!);
    expect(diff, `d loss / d x${i}`).toBeLessThan(1e-4);
  });
  tf.dispose([...feeds, ...want, ...Object.values(out)]);
}

describe.skipIf(!haveOrt)('appendGradients: each ONNX op gradient equals tf.grad', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('MatMul of a batch by a Transposed weight, and a batched MatMul', async () => {
    await expectGradsMatch(
      [{ shape: [2, 3, 4] }, { shape: [5, 4] }],
      (g, [x, w]) => g.node('MatMul', [x!, g.node('Transpose', [w!], { perm: [1, 0] })]),
      (x, w) => tf.reshape(tf.matMul(tf.reshape(x!, [6, 4]), w!, false, true), [2, 3, 5]),
    );
    await expectGradsMatch(
      [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 4, 3] }],
      (g, [a, b]) => g.node('MatMul', [a!, b!]),
      (a, b) => tf.matMul(a!, b!),
    );
  });

  it('Add, Sub, Mul, Div with broadcasting reduce to each operand’s shape', async () => {
    const shapes = [{ shape: [2, 3, 4] }, { shape: [4] }];
    await expectGradsMatch(
      shapes,
      (g, [a, b]) => g.node('Add', [a!, b!]),
      (a, b) => tf.add(a!, b!),
    );
    await expectGradsMatch(
      [{ shape: [2, 3, 4] }, { shape: [1, 3, 1] }],
      (g, [a, b]) => g.node('Sub', [a!, b!]),
      (a, b) => tf.sub(a!, b!),
    );
    await expectGradsMatch(
      [{ shape: [1, 3, 4] }, { shape: [2, 1, 4] }],
      (g, [a, b]) => g.node('Mul', [a!, b!]),
      (a, b) => tf.mul(a!, b!),
    );
    await expectGradsMatch(
      [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
      (g, [a, b]) => g.node('Div', [a!, g.node('Add', [g.node('Mul', [b!, b!]), g.constFloat([1], [])])]),
      (a, b) => tf.div(a!, tf.add(tf.mul(b!, b!), 1)),
    );
  });

  it('Gather: an embedding table with repeated ids (scattered and summed), and a token along axis 1', async () => {
    await expectGradsMatch(
      [{ shape: [6, 3] }, { shape: [2, 4], ints: [1, 5, 1, 0, 5, 5, 2, 1] }],
      (g, [w, ids]) => g.node('Gather', [w!, ids!], { axis: 0 }),
      (w, ids) => tf.gather(w!, ids!),
    );
    await expectGradsMatch(
      [{ shape: [2, 4, 3] }],
      (g, [h]) => g.node('Gather', [h!, g.constInt64([0], [])], { axis: 1 }),
      (h) => tf.squeeze(tf.slice(h!, [0, 0, 0], [2, 1, 3]), [1]),
    );
  });

  it('LayerNormalization (x, γ, β), Softmax, LogSoftmax', async () => {
    await expectGradsMatch(
      [{ shape: [2, 3, 8] }, { shape: [8] }, { shape: [8] }],
      (g, [x, s, b]) => g.node('LayerNormalization', [x!, s!, b!], { axis: -1, epsilon: onnxFloat(1e-5) }),
      (x, s, b) => layerNorm(x!, s!, b!, 1e-5),
    );
    await expectGradsMatch(
      [{ shape: [2, 3, 5] }],
      (g, [x]) => g.node('Softmax', [x!], { axis: -1 }),
      (x) => tf.softmax(x!),
    );
    await expectGradsMatch(
      [{ shape: [4, 5] }],
      (g, [x]) => g.node('LogSoftmax', [x!], { axis: -1 }),
      (x) => tf.logSoftmax(x!),
    );
  });

  it('Erf, Tanh, Relu', async () => {
    for (const [op, f] of [
      ['Erf', tf.erf],
      ['Tanh', tf.tanh],
      ['Relu', tf.relu],
    ] as const)
      await expectGradsMatch(
        [{ shape: [3, 7] }],
        (g, [x]) => g.node(op, [x!]),
        (x) => f(x!),
      );
  });

  it('Transpose, Reshape, Unsqueeze, Concat, Slice, Expand', async () => {
    await expectGradsMatch(
      [{ shape: [2, 3, 4] }],
      (g, [x]) =>
        g.node('Unsqueeze', [
          g.node('Reshape', [g.node('Transpose', [x!], { perm: [0, 2, 1] }), g.constInt64([0, -1])]),
          g.constInt64([1]),
        ]),
      (x) => tf.reshape(tf.transpose(x!, [0, 2, 1]), [2, 1, 12]),
    );
    await expectGradsMatch(
      [{ shape: [1, 1, 4] }, { shape: [2, 3, 4] }],
      (g, [c, p]) => g.node('Concat', [g.node('Expand', [c!, g.constInt64([2, 1, 4])]), p!], { axis: 1 }),
      (c, p) => tf.concat([tf.tile(c!, [2, 1, 1]), p!], 1),
    );
    await expectGradsMatch(
      [{ shape: [3, 6] }],
      (g, [x]) => g.node('Slice', [x!, g.constInt64([1]), g.constInt64([4]), g.constInt64([1])]),
      (x) => tf.slice(x!, [0, 1], [3, 3]),
    );
  });

  it('Conv as a patch embedding (kernel = stride): the weight and bias gradients', async () => {
    const P = 2;
    await expectGradsMatch(
      [{ shape: [2, 3, 5, 4], noGrad: true }, { shape: [4, 3, P, P] }, { shape: [4] }],
      (g, [x, w, b]) => g.node('Conv', [x!, w!, b!], { kernel_shape: [P, P], strides: [P, P] }),
      (x, w, b) => {
        // NCHW → NHWC for tfjs, OIHW → HWIO; the output back to NCHW.
        const y = tf.conv2d(
          tf.transpose(tf.slice(x!, [0, 0, 0, 0], [2, 3, 4, 4]), [0, 2, 3, 1]) as tf.Tensor4D,
          tf.transpose(w!, [2, 3, 1, 0]) as tf.Tensor4D,
          P,
          'valid',
        );
        return tf.transpose(tf.add(y, b!), [0, 3, 1, 2]);
      },
    );
  });

  it('Dropout in a training graph: its mask output scales the gradient by mask / (1 − rate)', async () => {
    const g = new OnnxGraph('dropout');
    g.training = true;
    const x = g.input('x', 'float32', [64, 32]);
    const y = g.dropout(x, 0.25);
    const mask = g.nodeDefs.at(-1)!.outputs[1]!;
    const R = deterministicValues(64 * 32, 5);
    const loss = g.node('ReduceSum', [g.node('Mul', [y, g.constFloat(Array.from(R), [64, 32])])], {
      keepdims: 0,
    });
    const grads = appendGradients(g, loss, [x]);
    g.output('y', y, 'float32', [64, 32]);
    g.output('dx', grads.get(x)!, 'float32', [64, 32]);
    g.output('keep', g.node('Cast', [mask], { to: 1 }), 'float32', [64, 32]);
    const session = await OnnxSession.create(g.encode(), { threads: 1 });
    const xs = tf.tensor(deterministicValues(64 * 32, 6), [64, 32]);
    const out = await session.run({ x: xs });
    await session.dispose();
    const keep = Array.from(out.keep!.dataSync());
    const kept = keep.reduce((a, b) => a + b, 0) / keep.length;
    expect(kept).toBeGreaterThan(0.7); // ~0.75 of 2048 kept
    expect(kept).toBeLessThan(0.8);
    const [xv, yv, dx] = [xs.dataSync(), out.y!.dataSync(), out.dx!.dataSync()];
    let worst = 0;
    for (let i = 0; i < keep.length; i++) {
      worst = Math.max(worst, Math.abs(yv[i]! - (xv[i]! * keep[i]!) / 0.75));
      worst = Math.max(worst, Math.abs(dx[i]! - (R[i]! * keep[i]!) / 0.75));
    }
    expect(worst).toBeLessThan(1e-5);
    tf.dispose([xs, ...Object.values(out)]);
  });

  it('names the node and op when an op has no gradient rule', () => {
    const g = new OnnxGraph('no-rule');
    const x = g.input('x', 'float32', [2, 3]);
    const loss = g.node('ReduceSum', [g.node('Round', [x])], { keepdims: 0 });
    expect(() => appendGradients(g, loss, [x])).toThrow(OnnxGraphError);
    expect(() => appendGradients(g, loss, [x])).toThrow(/Round_\d+: no gradient for ONNX op Round/);
  });
});
