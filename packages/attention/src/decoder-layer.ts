import { Dropout, LayerNorm, Linear, Module, tf } from '@attn/core-tensor';
import { AttentionConfigError } from './errors.js';
import { Group } from './group.js';
import { type ResolvedLayerConfig, resolveLayerConfig, type TransformerLayerConfig } from './layer-config.js';
import { MultiHeadAttention } from './multi-head-attention.js';
import { feedForward, residual, untracked } from './sublayers.js';

export interface DecoderLayerOutput {
  /** [b, tq, H] */
  hidden: tf.Tensor3D;
  /** [b, heads, tq, tq] masked self-attention probabilities, when asked for. */
  selfAttention?: tf.Tensor4D;
  /** [b, heads, tq, tk] attention over the encoder output, when asked for. */
  crossAttention?: tf.Tensor4D;
}

/**
 * One decoder block: masked self-attention (each position sees only earlier ones), cross-attention
 * (queries from the decoder, keys and values from the encoder output), then the feed-forward network;
 * each a residual sub-layer with LayerNorm ('post' or 'pre').
 * State-dict names follow Hugging Face's BertLayer with `add_cross_attention`: attention.self.*,
 * attention.output.{dense,LayerNorm}, crossattention.self.*, crossattention.output.{dense,LayerNorm},
 * intermediate.dense, output.{dense,LayerNorm}. Only naming 'bert' exists for decoders.
 */
export class TransformerDecoderLayer extends Module {
  readonly config: ResolvedLayerConfig;
  readonly selfAttention: MultiHeadAttention;
  readonly selfOut: Linear;
  readonly crossAttention: MultiHeadAttention;
  readonly crossOut: Linear;
  readonly ffnUp: Linear;
  readonly ffnDown: Linear;
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;
  readonly ln3: LayerNorm;
  private readonly dropout: Dropout;

  constructor(config: TransformerLayerConfig) {
    super();
    const c = resolveLayerConfig(config);
    if (c.naming !== 'bert')
      throw new AttentionConfigError(`naming: decoder layers use 'bert' names, got "${c.naming}"`);
    this.config = c;
    const H = c.hiddenSize;
    const mha = () =>
      new MultiHeadAttention({
        hiddenSize: H,
        numHeads: c.numHeads,
        qkvBias: c.qkvBias,
        attentionDropout: c.attentionDropout,
        std: c.std,
      });
    this.selfAttention = mha();
    this.selfOut = new Linear(H, H, { std: c.std });
    this.crossAttention = mha();
    this.crossOut = new Linear(H, H, { std: c.std });
    this.ffnUp = new Linear(H, c.intermediateSize, { std: c.std });
    this.ffnDown = new Linear(c.intermediateSize, H, { std: c.std });
    this.ln1 = new LayerNorm(H, c.layerNormEps);
    this.ln2 = new LayerNorm(H, c.layerNormEps);
    this.ln3 = new LayerNorm(H, c.layerNormEps);
    const block = (attn: MultiHeadAttention, out: Linear, ln: LayerNorm) =>
      new Group({ self: attn, output: new Group({ dense: out, LayerNorm: ln }) });
    this.module('attention', block(this.selfAttention, this.selfOut, this.ln1));
    this.module('crossattention', block(this.crossAttention, this.crossOut, this.ln2));
    this.module('intermediate', new Group({ dense: this.ffnUp }));
    this.module('output', new Group({ dense: this.ffnDown, LayerNorm: this.ln3 }));
    this.dropout = this.module('dropout', new Dropout(c.hiddenDropout));
  }

  /**
   * x: [b, tq, H] (the shifted target so far); memory: [b, tk, H] (the encoder output).
   * selfMask: usually combineMasks(causalMask(tq), paddingMask(targetMask)); memoryMask: paddingMask(sourceMask).
   */
  forward(
    x: tf.Tensor,
    memory: tf.Tensor,
    opts: { selfMask?: tf.Tensor; memoryMask?: tf.Tensor; outputAttentions?: boolean } = {},
  ): DecoderLayerOutput {
    const { norm } = this.config;
    const keep: { self?: tf.Tensor4D; cross?: tf.Tensor4D } = {};
    const attend =
      (
        attn: MultiHeadAttention,
        out: Linear,
        slot: 'self' | 'cross',
        keyValue?: tf.Tensor,
        mask?: tf.Tensor,
      ) =>
      (input: tf.Tensor) => {
        const { context, weights } = attn.forward(input, {
          keyValue,
          mask,
          outputAttentions: opts.outputAttentions,
        });
        if (weights) keep[slot] = tf.keep(weights); // survives residual()'s tidy; handed back below
        const projected = out.forward(context);
        context.dispose();
        return projected;
      };
    const h1 = residual(
      x,
      norm,
      this.ln1,
      this.dropout,
      attend(this.selfAttention, this.selfOut, 'self', undefined, opts.selfMask),
    );
    const h2 = residual(
      h1,
      norm,
      this.ln2,
      this.dropout,
      attend(this.crossAttention, this.crossOut, 'cross', memory, opts.memoryMask),
    );
    const hidden = residual(h2, norm, this.ln3, this.dropout, (input) =>
      feedForward(input, this.ffnUp, this.ffnDown, this.config),
    ) as tf.Tensor3D;
    tf.dispose([h1, h2]);
    return {
      hidden,
      ...(keep.self ? { selfAttention: untracked(keep.self) } : {}),
      ...(keep.cross ? { crossAttention: untracked(keep.cross) } : {}),
    };
  }
}
