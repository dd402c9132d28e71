import * as tf from '@tensorflow/tfjs-core';
import type { Grads } from './adamw.js';

/**
 * Scales all gradients together so their global L2 norm is at most maxNorm, as PyTorch's
 * clip_grad_norm_ (factor min(1, maxNorm / (norm + 1e-6))). Returns new gradients under the same
 * keys and the norm before clipping, as a scalar tensor (read it asynchronously; the caller disposes
 * all of them). The input gradients are not disposed.
 */
export function clipByGlobalNorm<G extends Grads>(grads: G, maxNorm: number): { grads: G; norm: tf.Scalar } {
  const entries = grads instanceof Map ? [...grads] : Object.entries(grads);
  // tidy keeps only tensors inside arrays and plain objects, so the Map is built outside it.
  const [norm, ...scaled] = tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(entries.map(([, g]) => tf.sum(tf.square(g)))));
    const factor = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    return [norm, ...entries.map(([, g]) => tf.mul(g, factor))];
  });
  const clipped = entries.map(([k], i) => [k, scaled[i]!] as [string, tf.Tensor]);
  const out = grads instanceof Map ? new Map(clipped) : Object.fromEntries(clipped);
  return { grads: out as G, norm: norm as tf.Scalar };
}
