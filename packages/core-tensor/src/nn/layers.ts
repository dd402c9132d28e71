import * as tf from '@tensorflow/tfjs-core';
import { Module } from '../module.js';
import { onnxFloat } from '../onnx/graph.js';
import type { OnnxModuleGraph } from '../onnx/module-graph.js';
import { gatherRows } from './gather-rows.js';
import { initNormal } from './init.js';

/** PyTorch keeps a Linear weight as [out, in]; we keep [in, out] so x·W needs no transpose per call. */
const transposed2d = (externalShape: number[]) => ({
  externalShape,
  fromExternal: (t: tf.Tensor) => tf.transpose(t),
  toExternal: (t: tf.Tensor) => tf.transpose(t),
});

export interface LinearOptions {
  bias?: boolean;
  /** Standard deviation of the weight initialisation (HF `initializer_range`). */
  std?: number;
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
  toOnnx(g: OnnxModuleGraph, x: string): string {
    const y = g.node('MatMul', [x, g.node('Transpose', [g.param(this.weight)], { perm: [1, 0] })]);
    return this.bias ? g.node('Add', [y, g.param(this.bias)]) : y;
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
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.weight.value), this.bias.value);
    });
  }

  /** The same in ONNX: LayerNormalization (opset 17) computes the biased variance, as `tf.moments`. */
  toOnnx(g: OnnxModuleGraph, x: string): string {
    return g.node('LayerNormalization', [x, g.param(this.weight), g.param(this.bias)], {
      axis: -1,
      epsilon: onnxFloat(this.eps),
    });
  }
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
    return tf.dropout(x, this.rate);
  }
}
