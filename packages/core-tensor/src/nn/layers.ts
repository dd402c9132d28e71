import * as tf from '@tensorflow/tfjs-core';
import { Module, type ParameterLayout } from '../module.js';
import { onnxFloat } from '../onnx/graph.js';
import type { OnnxModuleGraph } from '../onnx/module-graph.js';
import { gatherRows } from './gather-rows.js';
import { initNormal } from './init.js';

/** PyTorch keeps a Linear weight as [out, in]; we keep [in, out] so x·W needs no transpose per call. */
const transposed2d = (externalShape: number[]): ParameterLayout => ({
  externalShape,
  fromExternal: (t: tf.Tensor) => tf.transpose(t),
  toExternal: (t: tf.Tensor) => tf.transpose(t),
  toExternalOnnx: (g, v) => g.node('Transpose', [v], { perm: [1, 0] }),
});

export interface LinearOptions {
  bias?: boolean;
  /** Standard deviation of the weight initialisation (HF `initializer_range`). */
  std?: number;
}

export interface LinearOnnxOptions {
  /**
   * How a q8 graph quantises this Linear's input: one range for the whole tensor (default, fastest) or one
   * per row ('token'), for inputs with outlier rows.
   */
  q8Activations?: 'tensor' | 'token';
}

/** y = x·W + b over the last axis. State-dict names `weight` [out, in] and `bias` [out], as PyTorch. */
export class Linear extends Module {
  readonly weight;
  readonly bias;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const shape = [inFeatures, outFeatures];
    this.weight = this.param(
      'weight',
      { shape, init: () => initNormal(shape, opts.std ?? 0.02) },
      { layout: transposed2d([outFeatures, inFeatures]) },
    );
    this.bias =
      opts.bias === false
        ? undefined
        : this.param('bias', { shape: [outFeatures], init: () => tf.zeros([outFeatures]) });
  }

  /** x: [..., in] → [..., out] */
  forward(x: tf.Tensor, activation?: 'relu' | 'linear'): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
      const y = tf.fused.matMul({
        a: x2,
        b: this.weight.value as tf.Tensor2D,
        bias: this.bias?.value,
        activation: activation ?? 'linear',
      });
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /**
   * The same in ONNX. W is stored as the checkpoint has it, [out, in] (no transposed host copy), behind a
   * Transpose that onnxruntime folds into a constant once, when it loads the graph.
   */
  toOnnx(g: OnnxModuleGraph, x: string, opts: LinearOnnxOptions = {}): string {
    const y =
      g.dtype === 'q8'
        ? this.q8Onnx(g, x, opts.q8Activations ?? 'tensor')
        : g.node('MatMul', [x, g.node('Transpose', [g.param(this.weight)], { perm: [1, 0] })]);
    return this.bias ? g.node('Add', [y, g.param(this.bias)]) : y;
  }

  /**
   * q8: int8 per-channel weights (`g.paramQ8`) times x quantised to uint8 at run time, rescaled to float.
   * 'tensor': one scale and zero point for all of x (DynamicQuantizeLinear), the pattern onnxruntime fuses into
   * one MatMulIntegerToFloat kernel (and transformers.js' q8 files hold). 'token': a scale and zero point per row
   * of x, for inputs whose rows differ in range by orders of magnitude; the zero point is taken out after the
   * integer product (x·W = s·(q·Wq − zp·Σ_in Wq)·w_scale), since MatMulInteger takes only a scalar one.
   */
  private q8Onnx(g: OnnxModuleGraph, x: string, activations: 'tensor' | 'token'): string {
    const w = g.paramQ8(this.weight);
    const float = (t: string) => g.node('Cast', [t], { to: 1 });
    if (activations === 'tensor') {
      const [xq, xScale, xZero] = g.nodeN('DynamicQuantizeLinear', [x], {}, 3);
      const acc = g.node('MatMulInteger', [xq, w.weight, xZero]);
      return g.node('Mul', [float(acc), g.node('Mul', [xScale, w.scale])]);
    }
    const zero = g.constFloat([0], []);
    // The range always holds 0 (as DynamicQuantizeLinear's), so 0 is exact and a constant row has a scale.
    const lo = g.node('Min', [g.node('ReduceMin', [x], { axes: [-1], keepdims: 1 }), zero]);
    const hi = g.node('Max', [g.node('ReduceMax', [x], { axes: [-1], keepdims: 1 }), zero]);
    const range = g.node('Div', [g.node('Sub', [hi, lo]), g.constFloat([255], [])]);
    const scale = g.node('Max', [range, g.constFloat([1e-12], [])]);
    const zp = g.node('Round', [g.node('Div', [g.node('Neg', [lo]), scale])]);
    const q = g.node('Add', [g.node('Round', [g.node('Div', [x, scale])]), zp]);
    const xq = g.node('Cast', [g.node('Clip', [q, zero, g.constFloat([255], [])])], { to: 2 });
    const acc = float(g.node('MatMulInteger', [xq, w.weight]));
    const colSum = g.node('ReduceSum', [float(w.weight), g.constInt64([0])], { keepdims: 0 });
    const centred = g.node('Sub', [acc, g.node('Mul', [zp, colSum])]);
    return g.node('Mul', [g.node('Mul', [centred, scale]), w.scale]);
  }
}

/** Layer normalisation over the last axis. State-dict names `weight` (γ) and `bias` (β). */
export class LayerNorm extends Module {
  readonly weight;
  readonly bias;
  constructor(
    readonly dim: number,
    readonly eps = 1e-12,
  ) {
    super();
    this.weight = this.param('weight', { shape: [dim], init: () => tf.ones([dim]) });
    this.bias = this.param('bias', { shape: [dim], init: () => tf.zeros([dim]) });
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => layerNorm(x, this.weight.value, this.bias.value, this.eps));
  }

  /** The same in ONNX: LayerNormalization (opset 17) computes the biased variance, as `tf.moments`. */
  toOnnx(g: OnnxModuleGraph, x: string): string {
    return g.node('LayerNormalization', [x, g.param(this.weight), g.param(this.bias)], {
      axis: -1,
      epsilon: onnxFloat(this.eps),
    });
  }
}

/**
 * y = (x − μ) / √(σ² + eps) · γ + β over the last axis (σ² biased, as PyTorch), with the value of the ops
 * taped one by one and a gradient that keeps only x̂ = (x − μ)/σ and 1/σ: taped, the backward held x, x − μ
 * twice, its square and x̂ (five tensors of x's size a LayerNorm, two a Transformer layer).
 *   dβ = Σ dy,  dγ = Σ dy ⊙ x̂,  dx = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / σ  with g = dy ⊙ γ.
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g0, b0, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(input, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const normed = tf.mul(tf.sub(input, mean), rstd);
    save([normed, rstd, g0]);
    return {
      value: tf.add(tf.mul(normed, g0), b0),
      gradFunc: (dy: tf.Tensor, [xHat, r, gam]: tf.Tensor[]) =>
        tf.tidy(() => {
          const lead = Array.from({ length: dy.rank - 1 }, (_, i) => i);
          const overRows = (t: tf.Tensor) => (lead.length > 0 ? tf.sum(t, lead) : t);
          const g = tf.mul(dy, gam!);
          const centred = tf.sub(g, tf.mean(g, -1, true));
          const dx = tf.mul(tf.sub(centred, tf.mul(xHat!, tf.mean(tf.mul(g, xHat!), -1, true))), r!);
          return [dx, overRows(tf.mul(dy, xHat!)), overRows(dy)];
        }),
    };
  });
  return op(x, gamma, beta);
}

/** A lookup table [num, dim]. State-dict name `weight`. */
export class Embedding extends Module {
  readonly weight;
  constructor(
    readonly num: number,
    readonly dim: number,
    opts: { std?: number; paddingIdx?: number } = {},
  ) {
    super();
    const init = () =>
      tf.tidy(() => {
        const w = initNormal([num, dim], opts.std ?? 0.02);
        if (opts.paddingIdx === undefined) return w;
        // HF zeroes the padding row at init.
        const keep = tf.reshape(tf.oneHot([opts.paddingIdx], num), [num, 1]);
        return tf.mul(w, tf.sub(1, keep));
      });
    this.weight = this.param('weight', { shape: [num, dim], init });
  }

  /** ids: int32 [...] → [..., dim] */
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // gatherRows: tf.gather's values, with an O(ids·dim) scatter-add gradient instead of tfjs's O(num·ids·dim) one.
      return tf.reshape(gatherRows(this.weight.value, tf.reshape(ids, [-1])), [...ids.shape, this.dim]);
    });
  }

  /** ids: int64 [...] → [..., dim] */
  toOnnx(g: OnnxModuleGraph, ids: string): string {
    return g.node('Gather', [g.param(this.weight), ids], { axis: 0 });
  }
}

/** Inverted dropout: active only in training mode. */
export class Dropout extends Module {
  constructor(readonly rate: number) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.rate === 0) return x;
    return dropoutKeepingMask(x, this.rate);
  }
}

/**
 * `tf.dropout`'s mask and value, op for op, but what the backward keeps is the mask alone, as bool: taped,
 * tf.dropout keeps its uniform noise, the floored keep mask and the float multiplier (12 bytes an element
 * beside x) until the backward passes it. Dropout and the attention probabilities use it.
 */
export function dropoutKeepingMask(x: tf.Tensor, rate: number): tf.Tensor {
  const keep = 1 - rate;
  return tf.tidy(() => {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const kept = tf.floor(tf.add(tf.randomUniform(input.shape, 0, 1, 'float32'), keep));
      save([tf.cast(kept, 'bool')]);
      return {
        value: tf.mul(input, tf.div(kept, keep)),
        gradFunc: (dy: tf.Tensor, [mask]: tf.Tensor[]) =>
          tf.tidy(() => tf.mul(dy, tf.div(tf.cast(mask!, 'float32'), keep))),
      };
    });
    return op(x);
  });
}
