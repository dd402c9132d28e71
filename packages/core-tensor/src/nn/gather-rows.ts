import * as tf from '@tensorflow/tfjs-core';

/**
 * `table[ids]` for a 2-D table [V, H] and ids [N] → [N, H], with a gradient that scatter-adds the incoming
 * rows (O(N·H)). tfjs's own gather gradient goes through unsortedSegmentSum, which on cpu/wasm runs one
 * masked pass per table row (O(V·N·H)): minutes per training step for a 4k vocabulary, or for picking
 * the masked positions out of a [b·t, H] batch. The forward value is exactly `tf.gather`.
 */
export function gatherRows(table: tf.Tensor, ids: tf.Tensor | number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const flat = ids instanceof tf.Tensor ? tf.cast(ids, 'int32') : tf.tensor1d(ids, 'int32'); // [N]
    const shape = table.shape as [number, number];
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [weight, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([flat]);
      return {
        value: tf.gather(weight, flat), // [N, H]
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0]!, 1), dy, shape),
      };
    });
    return op(table) as tf.Tensor2D;
  });
}
