import { tf } from '@attn/core-tensor';

/** Label value whose position does not count in the loss (PyTorch `CrossEntropyLoss(ignore_index=-100)`). */
export const IGNORE_INDEX = -100;

/**
 * Mean cross-entropy of logits [N, C] against integer labels [N], skipping labels equal to IGNORE_INDEX,
 * as PyTorch's `CrossEntropyLoss` (mean over the counted positions).
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const C = logits.shape.at(-1)!;
    const flat = tf.reshape(logits, [-1, C]);
    const ids = tf.cast(tf.reshape(labels, [-1]), 'int32');
    const counted = tf.notEqual(ids, IGNORE_INDEX);
    const safe = tf.where(counted, ids, tf.zerosLike(ids)); // any valid class; masked out below
    const logp = tf.logSoftmax(flat); // [N, C]
    const picked = tf.sum(tf.mul(logp, tf.oneHot(safe, C)), -1); // [N]
    const weight = tf.cast(counted, 'float32');
    return tf.div(tf.neg(tf.sum(tf.mul(picked, weight))), tf.maximum(tf.sum(weight), 1)) as tf.Scalar;
  });
}

/** Mean squared error (HF regression when num_labels == 1). */
export function meanSquaredError(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(
    () =>
      tf.mean(
        tf.square(tf.sub(tf.reshape(pred, [-1]), tf.reshape(tf.cast(target, 'float32'), [-1]))),
      ) as tf.Scalar,
  );
}

/** Mean binary cross-entropy on logits (HF multi-label classification, `BCEWithLogitsLoss`). */
export function binaryCrossEntropyWithLogits(logits: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const y = tf.cast(target, 'float32');
    // max(x, 0) − x·y + log(1 + e^(−|x|)): stable for large |x|
    const loss = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(loss) as tf.Scalar;
  });
}
