import { LearnedPositionalEmbedding } from '@attn/attention';
import { Dropout, Embedding, LayerNorm, Module, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import type { BertConfig } from './config.js';

/**
 * word + position + token-type embeddings, then LayerNorm and dropout (HF `BertEmbeddings`).
 * State-dict names: `word_embeddings.weight`, `position_embeddings.weight`, `token_type_embeddings.weight`,
 * `LayerNorm.{weight,bias}`.
 */
export class BertEmbeddings extends Module {
  readonly word_embeddings;
  readonly position_embeddings;
  readonly token_type_embeddings;
  readonly LayerNorm;
  readonly dropout;

  constructor(config: BertConfig) {
    super();
    const std = config.initializer_range;
    const H = config.hidden_size;
    this.word_embeddings = this.module(
      'word_embeddings',
      new Embedding(config.vocab_size, H, { std, paddingIdx: config.pad_token_id }),
    );
    this.position_embeddings = this.module(
      'position_embeddings',
      new LearnedPositionalEmbedding(config.max_position_embeddings, H, { std }),
    );
    this.token_type_embeddings = this.module(
      'token_type_embeddings',
      new Embedding(config.type_vocab_size, H, { std }),
    );
    this.LayerNorm = this.module('LayerNorm', new LayerNorm(H, config.layer_norm_eps));
    this.dropout = this.module('dropout', new Dropout(config.hidden_dropout_prob));
  }

  /** inputIds, tokenTypeIds: int32 [b, t] → [b, t, H]. Positions are 0..t-1 (absolute, learned). */
  forward(inputIds: tf.Tensor, tokenTypeIds: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const t = inputIds.shape[1]!;
      const positions = this.position_embeddings.forward(t); // [t, H], broadcasts over b
      const summed = tf.add(
        tf.add(this.word_embeddings.forward(inputIds), this.token_type_embeddings.forward(tokenTypeIds)),
        positions,
      );
      return this.dropout.forward(this.LayerNorm.forward(summed));
    });
  }

  /** The same in ONNX: inputIds, tokenTypeIds int64 [b, t] → [b, t, H]; t is read from the input. */
  toOnnx(g: OnnxModuleGraph, inputIds: string, tokenTypeIds: string): string {
    const t = g.node('Gather', [g.node('Shape', [inputIds]), g.constInt64([1], [])], { axis: 0 });
    const positions = g.node('Range', [g.constInt64([0], []), t, g.constInt64([1], [])]); // [t]
    const summed = g.node('Add', [
      g.node('Add', [
        this.word_embeddings.toOnnx(g, inputIds),
        this.token_type_embeddings.toOnnx(g, tokenTypeIds),
      ]),
      this.position_embeddings.toOnnx(g, positions),
    ]);
    return g.dropout(this.LayerNorm.toOnnx(g, summed), this.dropout.rate, this.dropout.training);
  }
}
