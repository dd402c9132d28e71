import { tf } from '@attn/core-tensor';
import type { OnnxGraph } from '@attn/core-tensor/onnx';
import { AttentionShapeError } from './errors.js';

/**
 * The additive value that switches a key off. It is float32's lowest finite number, as Hugging Face uses
 * (`(1 - mask) * torch.finfo(float32).min`): finite, so a row whose keys are all masked softmaxes to a
 * uniform distribution instead of NaN (−∞ − (−∞) = NaN inside a stable softmax).
 */
export const MASKED = -3.4028234663852886e38;

/**
 * Where attention clamps additive masks. A masked key's probability is exp(−1e9 − max) = 0 exactly, as with
 * MASKED, but the value stays far from float32's edge, where WebGPU's softmax returns NaN.
 */
export const SOFTMAX_FLOOR = -1e9;

/**
 * From a 0/1 attention mask (1 = a real token, 0 = padding) to an additive mask.
 * attentionMask: [b, tk] → [b, 1, 1, tk], 0 where attended, MASKED where padded;
 * it broadcasts over heads and query positions.
 */
export function paddingMask(attentionMask: tf.Tensor): tf.Tensor4D {
  if (attentionMask.rank !== 2)
    throw new AttentionShapeError(
      'paddingMask: attentionMask',
      `expected [batch, keys], got [${attentionMask.shape}]`,
    );
  const [b, tk] = attentionMask.shape;
  return tf.tidy(() => {
    const keep = tf.cast(attentionMask, 'float32');
    return tf.reshape(tf.mul(tf.sub(keep, 1), -MASKED), [b, 1, 1, tk]) as tf.Tensor4D; // +0 or MASKED
  });
}

/** The same in ONNX: attentionMask int64 [b, tk] → float32 [b, 1, 1, tk]. */
export function paddingMaskOnnx(g: OnnxGraph, attentionMask: string): string {
  const keep = g.node('Cast', [attentionMask], { to: 1 }); // 1 = FLOAT
  const additive = g.node('Mul', [g.node('Sub', [keep, g.constFloat([1], [])]), g.constFloat([-MASKED], [])]);
  return g.node('Unsqueeze', [additive, g.constInt64([1, 2])]);
}

/**
 * The look-ahead mask of a decoder: query i may attend to keys 0..i only.
 * → [1, 1, t, t], 0 on and below the diagonal, MASKED above it.
 */
export function causalMask(t: number): tf.Tensor4D {
  if (!Number.isInteger(t) || t < 1)
    throw new AttentionShapeError('causalMask: t', `expected a positive integer, got ${t}`);
  return tf.tidy(() => {
    const lower = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // 1 where key ≤ query
    return tf.reshape(tf.mul(tf.sub(lower, 1), -MASKED), [1, 1, t, t]) as tf.Tensor4D;
  });
}

/**
 * Combines two additive masks (e.g. padding and causal) by broadcasting: a key is masked if either masks it.
 * Uses the minimum rather than the sum, so MASKED + MASKED cannot overflow to −∞.
 */
export function combineMasks(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.minimum(a, b);
}
