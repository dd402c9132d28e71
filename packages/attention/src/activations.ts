import { tf } from '@attn/core-tensor';
import type { OnnxGraph } from '@attn/core-tensor/onnx';
import { AttentionConfigError } from './errors.js';

/** The feed-forward activations of Hugging Face configs (`hidden_act`). */
export type HiddenAct = 'gelu' | 'gelu_new' | 'relu';

/** The element-wise ops the activations are written in, so that each formula below serves every engine. */
interface Ops<T> {
  add(a: T, b: T | number): T;
  mul(a: T, b: T | number): T;
  erf(x: T): T;
  tanh(x: T): T;
  relu(x: T): T;
}

const FORMULAS: Record<HiddenAct, <T>(o: Ops<T>, x: T) => T> = {
  // Exact erf form (HF "gelu"): x·Φ(x) = 0.5·x·(1 + erf(x/√2)). ONNX has a Gelu op only from opset 20.
  gelu: (o, x) => o.mul(o.mul(x, 0.5), o.add(o.erf(o.mul(x, Math.SQRT1_2)), 1)),
  // Tanh approximation (HF "gelu_new", GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  gelu_new: (o, x) => {
    const inner = o.mul(o.add(x, o.mul(o.mul(o.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return o.mul(o.mul(x, 0.5), o.add(o.tanh(inner), 1));
  },
  relu: (o, x) => o.relu(x),
};

const TF_OPS: Ops<tf.Tensor> = {
  add: (a, b) => tf.add(a, b),
  mul: (a, b) => tf.mul(a, b),
  erf: (x) => tf.erf(x),
  tanh: (x) => tf.tanh(x),
  relu: (x) => tf.relu(x),
};

/** The same ops as ONNX nodes; a number becomes a float32 scalar constant. */
function onnxOps(g: OnnxGraph): Ops<string> {
  const v = (b: string | number) => (typeof b === 'number' ? g.constFloat([b], []) : b);
  return {
    add: (a, b) => g.node('Add', [a, v(b)]),
    mul: (a, b) => g.node('Mul', [a, v(b)]),
    erf: (x) => g.node('Erf', [x]),
    tanh: (x) => g.node('Tanh', [x]),
    relu: (x) => g.node('Relu', [x]),
  };
}

function formula(name: HiddenAct) {
  const f = Object.hasOwn(FORMULAS, name) ? FORMULAS[name] : undefined;
  if (!f)
    throw new AttentionConfigError(
      `hiddenAct: unknown activation "${name}" (expected gelu, gelu_new or relu)`,
    );
  return f;
}

/**
 * GELU, exact erf form (HF `hidden_act: "gelu"`). Its gradient is PyTorch's analytic one,
 * dy·(Φ(x) + x·φ(x)), computed from x alone: taped op by op, the formula would keep four more tensors of the
 * feed-forward's width alive for the backward (x·0.5, x/√2, erf, 1 + erf), 150–230 MB per training step
 * of MiniLM or ViT-Tiny at batch 8. The forward value is the formula's, bit for bit.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => geluExact(x));
}

const geluExact = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: FORMULAS.gelu(TF_OPS, x),
    gradFunc: (dy: tf.Tensor, [x0]: tf.Tensor[]) =>
      tf.tidy(() => {
        const cdf = tf.mul(tf.add(tf.erf(tf.mul(x0!, Math.SQRT1_2)), 1), 0.5);
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(x0!), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return tf.mul(dy, tf.add(cdf, tf.mul(x0!, pdf)));
      }),
  };
});

/** GELU, tanh approximation (HF "gelu_new", GPT-2). */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => FORMULAS.gelu_new(TF_OPS, x));
}

/** The activation `name` on tfjs. */
export function activation(name: HiddenAct): (x: tf.Tensor) => tf.Tensor {
  if (name === 'gelu') return gelu;
  const f = formula(name);
  return (x) => tf.tidy(() => f(TF_OPS, x));
}

/** The activation `name` as ONNX nodes on the value `x`; returns the output value. */
export function activationOnnx(g: OnnxGraph, name: HiddenAct, x: string): string {
  return formula(name)(onnxOps(g), x);
}
