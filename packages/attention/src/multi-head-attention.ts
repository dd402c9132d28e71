import { Linear, Module, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import { AttentionConfigError, AttentionShapeError } from './errors.js';
import { scaledDotProductAttention, scaledDotProductAttentionOnnx } from './scaled-dot-product.js';

export interface MultiHeadAttentionConfig {
  hiddenSize: number;
  numHeads: number;
  /** Biases on the Q, K and V projections (HF `qkv_bias`; BERT always has them). Default true. */
  qkvBias?: boolean;
  /** Dropout on the attention probabilities (HF `attention_probs_dropout_prob`). Default 0. */
  attentionDropout?: number;
  /** Weight-initialisation std (HF `initializer_range`). Default 0.02. */
  std?: number;
}

export interface MultiHeadAttentionOutput {
  /** [b, tq, H]: the heads concatenated, BEFORE the output projection (HF keeps that in `*.output.dense`). */
  context: tf.Tensor3D;
  /** [b, heads, tq, tk] attention probabilities, when asked for. */
  weights?: tf.Tensor4D;
}

/**
 * h parallel attention heads, each on its own d = H/h-wide slice of learned projections of the input:
 * head_i = Attention(X·W_Q,i, Y·W_K,i, Y·W_V,i), with Y = X for self-attention and Y = the encoder output
 * for cross-attention. Children `query`, `key`, `value` carry Hugging Face's names.
 */
export class MultiHeadAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly numHeads: number;
  readonly headDim: number;
  readonly hiddenSize: number;
  private readonly attentionDropout: number;

  constructor(config: MultiHeadAttentionConfig) {
    super();
    const { hiddenSize, numHeads } = config;
    if (!Number.isInteger(numHeads) || numHeads < 1 || hiddenSize % numHeads !== 0)
      throw new AttentionConfigError(
        `numHeads: hiddenSize ${hiddenSize} is not a multiple of numHeads ${numHeads}`,
      );
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.headDim = hiddenSize / numHeads;
    this.attentionDropout = config.attentionDropout ?? 0;
    const opts = { bias: config.qkvBias ?? true, std: config.std };
    this.query = this.module('query', new Linear(hiddenSize, hiddenSize, opts));
    this.key = this.module('key', new Linear(hiddenSize, hiddenSize, opts));
    this.value = this.module('value', new Linear(hiddenSize, hiddenSize, opts));
  }

  /**
   * x: [b, tq, H] gives the queries; keyValue: [b, tk, H] gives keys and values (defaults to x).
   * mask: additive, broadcastable to [b, heads, tq, tk].
   */
  forward(
    x: tf.Tensor,
    opts: { keyValue?: tf.Tensor; mask?: tf.Tensor; outputAttentions?: boolean } = {},
  ): MultiHeadAttentionOutput {
    const kv = opts.keyValue ?? x;
    this.checkInput('x', x);
    if (opts.keyValue) this.checkInput('keyValue', kv);
    if (kv.shape[0] !== x.shape[0])
      throw new AttentionShapeError(
        'MultiHeadAttention: keyValue',
        `batch ${kv.shape[0]} differs from x's ${x.shape[0]}`,
      );
    return tf.tidy(() => {
      const q = this.splitHeads(this.query.forward(x)); // [b, h, tq, d]
      const k = this.splitHeads(this.key.forward(kv)); // [b, h, tk, d]
      const v = this.splitHeads(this.value.forward(kv)); // [b, h, tk, d]
      const { output, weights } = scaledDotProductAttention(q, k, v, {
        mask: opts.mask,
        dropout: this.attentionDropout,
        training: this.training,
      });
      const context = this.mergeHeads(output); // [b, tq, H]
      return opts.outputAttentions ? { context, weights } : { context };
    });
  }

  /** The same in ONNX, for self-attention: x [b, t, H] → context [b, t, H]; batch and t stay dynamic. */
  toOnnx(g: OnnxModuleGraph, x: string, mask?: string): string {
    // Reshape's 0 keeps the input's dim: [b, t, H] → [b, t, h, d] → [b, h, t, d]
    const split = (y: string) =>
      g.node('Transpose', [g.node('Reshape', [y, g.constInt64([0, 0, this.numHeads, this.headDim])])], {
        perm: [0, 2, 1, 3],
      });
    const q = split(this.query.toOnnx(g, x));
    const k = split(this.key.toOnnx(g, x));
    const v = split(this.value.toOnnx(g, x));
    const output = scaledDotProductAttentionOnnx(g, q, k, v, this.headDim, mask, {
      dropout: this.attentionDropout,
      training: this.training,
    }); // [b, h, t, d]
    const merged = g.node('Transpose', [output], { perm: [0, 2, 1, 3] }); // [b, t, h, d]
    return g.node('Reshape', [merged, g.constInt64([0, 0, this.hiddenSize])]);
  }

  /** [b, t, H] → [b, h, t, d] */
  private splitHeads(x: tf.Tensor): tf.Tensor4D {
    const [b, t] = x.shape;
    return tf.transpose(tf.reshape(x, [b!, t!, this.numHeads, this.headDim]), [0, 2, 1, 3]);
  }

  /** [b, h, t, d] → [b, t, H] */
  private mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
    const [b, , t] = x.shape;
    return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, this.hiddenSize]);
  }

  private checkInput(name: string, t: tf.Tensor) {
    if (t.rank !== 3 || t.shape[2] !== this.hiddenSize)
      throw new AttentionShapeError(
        `MultiHeadAttention: ${name}`,
        `expected [batch, seq, ${this.hiddenSize}], got [${t.shape}]`,
      );
  }
}
