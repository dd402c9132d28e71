import { tf } from '@attn/core-tensor';

// The one cross-entropy lives in core-tensor (ViT and the seq2seq Transformer use it too); re-exported for
// the names @attn/bert has documented.
export { crossEntropy, IGNORE_INDEX } from '@attn/core-tensor';

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
