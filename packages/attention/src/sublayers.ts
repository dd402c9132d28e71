import type { Dropout, LayerNorm, Linear } from '@attn/core-tensor';
import { tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import { activation, activationOnnx } from './activations.js';
import type { ResolvedLayerConfig } from './layer-config.js';

/**
 * One residual sub-layer: y = x + sublayer(·), with LayerNorm after the sum ('post') or on the sub-layer's
 * input ('pre'). Both orders, for every engine (T is a tfjs tensor or an ONNX value), are these two lines,
 * so the difference stays visible.
 */
export function residualOrder<T>(
  x: T,
  norm: 'post' | 'pre',
  ln: (t: T) => T,
  add: (a: T, b: T) => T,
  sublayer: (input: T) => T,
): T {
  if (norm === 'pre') return add(x, sublayer(ln(x)));
  return ln(add(sublayer(x), x));
}

/** `residualOrder` on tfjs, with dropout on the sub-layer's output. */
export function residual(
  x: tf.Tensor,
  norm: 'post' | 'pre',
  ln: LayerNorm,
  dropout: Dropout,
  sublayer: (input: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return tf.tidy(() =>
    residualOrder(
      x,
      norm,
      (t) => ln.forward(t),
      (a, b) => tf.add(a, b),
      (input) => dropout.forward(sublayer(input)),
    ),
  );
}

/** `residualOrder` in ONNX; the dropout only in a training graph (an exported one is for inference). */
export function residualOnnx(
  g: OnnxModuleGraph,
  x: string,
  norm: 'post' | 'pre',
  ln: LayerNorm,
  sublayer: (input: string) => string,
  dropout?: Dropout,
): string {
  return residualOrder(
    x,
    norm,
    (t) => ln.toOnnx(g, t),
    (a, b) => g.node('Add', [a, b]),
    (input) => (dropout ? g.dropout(sublayer(input), dropout.rate, dropout.training) : sublayer(input)),
  );
}

/**
 * The position-wise feed-forward network, FFN(x) = act(x·W1 + b1)·W2 + b2, applied to every position alone.
 * Its two Linear layers live under different HF names (`intermediate.dense`, `output.dense`), so the layer
 * owns them and passes them in.
 */
export function feedForward(x: tf.Tensor, up: Linear, down: Linear, config: ResolvedLayerConfig): tf.Tensor {
  return tf.tidy(() => {
    const hidden =
      config.hiddenAct === 'relu' ? up.forward(x, 'relu') : activation(config.hiddenAct)(up.forward(x));
    return down.forward(hidden);
  });
}

/**
 * The same in ONNX. In a q8 graph the down projection quantises its input per token: after GELU a few tokens
 * (e.g. ViT's CLS) reach ranges far above the rest, and one range for the whole tensor cost the real
 * ViT-Tiny its top-1 on 29 of 200 photos (4 per token).
 */
export function feedForwardOnnx(
  g: OnnxModuleGraph,
  x: string,
  up: Linear,
  down: Linear,
  config: ResolvedLayerConfig,
): string {
  return down.toOnnx(g, activationOnnx(g, config.hiddenAct, up.toOnnx(g, x)), { q8Activations: 'token' });
}

/**
 * A tf.keep()t tensor as an ordinary one of the current scope (same data, no copy), so a caller's tf.tidy
 * frees it like any other output it does not return.
 */
export function untracked<T extends tf.Tensor>(kept: T): T {
  const t = tf.clone(kept) as T;
  kept.dispose();
  return t;
}
