import * as tf from '@tensorflow/tfjs-core';

/** Label value whose position does not count in the loss (PyTorch `CrossEntropyLoss(ignore_index=-100)`). */
export const IGNORE_INDEX = -100;

export interface CrossEntropyOptions {
  /** Labels equal to this do not count (default IGNORE_INDEX; a padding id works too). */
  ignoreIndex?: number;
  /** ε of the target mass spread uniformly over the C classes, as PyTorch's `label_smoothing`. Default 0. */
  labelSmoothing?: number;
}

/**
 * Mean cross-entropy of logits [..., C] against integer labels [...], over the positions whose label is
 * not `ignoreIndex`: PyTorch's `CrossEntropyLoss` (mean over the counted positions), with label smoothing.
 * The one cross-entropy of attn: BERT's heads, ViT training and the seq2seq Transformer all use it.
 */
export function crossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor,
  opts: CrossEntropyOptions = {},
): tf.Scalar {
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const eps = opts.labelSmoothing ?? 0;
  return tf.tidy(() => {
    const C = logits.shape.at(-1)!;
    const flat = tf.reshape(logits, [-1, C]);
    const ids = tf.cast(tf.reshape(labels, [-1]), 'int32');
    const counted = tf.notEqual(ids, ignoreIndex);
    const safe = tf.where(counted, ids, tf.zerosLike(ids)); // any valid class; masked out below
    const logp = tf.logSoftmax(flat); // [N, C]
    const hot = tf.oneHot(safe, C);
    const target = eps ? tf.add(tf.mul(hot, 1 - eps), eps / C) : hot;
    const picked = tf.sum(tf.mul(logp, target), -1); // [N]
    const weight = tf.cast(counted, 'float32');
    return tf.div(tf.neg(tf.sum(tf.mul(picked, weight))), tf.maximum(tf.sum(weight), 1)) as tf.Scalar;
  });
}
