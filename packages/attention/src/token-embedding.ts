import { gatherRows, initNormal, Module, tf } from '@attn/core-tensor';

/**
 * Token embeddings multiplied by √d_model, as in "Attention Is All You Need" §3.4. Initialised with
 * std d_model^−½ (as fairseq), so after the scale each vector has unit variance per component: the same
 * magnitude as the ±1 sinusoidal positions it is added to. State-dict name `weight` [vocab, dModel].
 */
export class ScaledTokenEmbedding extends Module {
  readonly weight;
  constructor(
    readonly vocabSize: number,
    readonly dModel: number,
    opts: { std?: number } = {},
  ) {
    super();
    this.weight = this.param('weight', initNormal([vocabSize, dModel], opts.std ?? dModel ** -0.5));
  }

  /** ids: int32 [...] → [..., dModel] */
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = tf.cast(tf.reshape(ids, [-1]), 'int32');
      // gatherRows: a gather whose gradient is an O(ids·dModel) scatter-add (core-tensor's Embedding uses it too).
      const vectors = gatherRows(this.weight.value, flat);
      return tf.reshape(tf.mul(vectors, Math.sqrt(this.dModel)), [...ids.shape, this.dModel]);
    });
  }
}
