import { Linear, Module, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';

/** The first ([CLS]) token of each sequence: [b, t, H] → [b, H]. */
export function firstToken(hidden: tf.Tensor): tf.Tensor2D {
  const [b, , H] = hidden.shape;
  return tf.reshape(tf.slice(hidden, [0, 0, 0], [b!, 1, H!]), [b!, H!]);
}

/** `firstToken` as one ONNX Gather on the sequence axis. */
export function firstTokenOnnx(g: OnnxModuleGraph, hidden: string): string {
  return g.node('Gather', [hidden, g.constInt64([0], [])], { axis: 1 });
}

/**
 * Hugging Face's `BertPooler` / `ViTPooler`, which are the same module: tanh(dense(hidden[:, 0])), one
 * sentence (or image) vector per sequence. Its one child is `dense`, so checkpoints name it
 * `pooler.dense.weight` / `pooler.dense.bias`.
 */
export class Pooler extends Module {
  readonly dense: Linear;
  constructor(hidden: number, std = 0.02) {
    super();
    this.dense = this.module('dense', new Linear(hidden, hidden, { std }));
  }
  /** hidden: [b, t, H] → [b, H] */
  forward(hidden: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => tf.tanh(this.dense.forward(firstToken(hidden))) as tf.Tensor2D);
  }
  toOnnx(g: OnnxModuleGraph, hidden: string): string {
    return g.node('Tanh', [this.dense.toOnnx(g, firstTokenOnnx(g, hidden))]);
  }
}
