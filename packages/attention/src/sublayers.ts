import type { Dropout, LayerNorm, Linear } from '@attn/core-tensor';
import { tf } from '@attn/core-tensor';
import { activation } from './activations.js';
import type { ResolvedLayerConfig } from './layer-config.js';

/**
 * One residual sub-layer: y = x + dropout(sublayer(·)), with LayerNorm after the sum ('post') or on the
 * sub-layer's input ('pre'). Both orders are this one function, so the difference stays visible.
 */
export function residual(
  x: tf.Tensor,
  norm: 'post' | 'pre',
  ln: LayerNorm,
  dropout: Dropout,
  sublayer: (input: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    if (norm === 'pre') return tf.add(x, dropout.forward(sublayer(ln.forward(x))));
    return ln.forward(tf.add(dropout.forward(sublayer(x)), x));
  });
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
 * A tf.keep()t tensor as an ordinary one of the current scope (same data, no copy), so a caller's tf.tidy
 * frees it like any other output it does not return.
 */
export function untracked<T extends tf.Tensor>(kept: T): T {
  const t = tf.clone(kept) as T;
  kept.dispose();
  return t;
}
