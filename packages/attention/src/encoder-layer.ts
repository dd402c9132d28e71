import { Dropout, LayerNorm, Linear, Module, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import { Group } from './group.js';
import { type ResolvedLayerConfig, resolveLayerConfig, type TransformerLayerConfig } from './layer-config.js';
import { MultiHeadAttention } from './multi-head-attention.js';
import { feedForward, feedForwardOnnx, residual, residualOnnx, untracked } from './sublayers.js';

export interface EncoderLayerOutput {
  /** [b, t, H] */
  hidden: tf.Tensor3D;
  /** [b, heads, t, t] self-attention probabilities, when asked for. */
  attention?: tf.Tensor4D;
}

/**
 * One encoder block: self-attention, then the position-wise feed-forward network, each wrapped in a residual
 * connection with LayerNorm. State-dict names are exactly Hugging Face's:
 *   naming 'bert': attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
 *                  intermediate.dense, output.{dense,LayerNorm}
 *   naming 'vit':  attention.attention.{query,key,value}, attention.output.dense, intermediate.dense,
 *                  output.dense, layernorm_before, layernorm_after
 */
export class TransformerEncoderLayer extends Module {
  readonly config: ResolvedLayerConfig;
  readonly selfAttention: MultiHeadAttention;
  /** The output projection W_O that mixes the concatenated heads. */
  readonly attentionOut: Linear;
  readonly ffnUp: Linear;
  readonly ffnDown: Linear;
  /** LayerNorm around the attention sub-layer and around the feed-forward sub-layer. */
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;
  private readonly dropout: Dropout;

  constructor(config: TransformerLayerConfig) {
    super();
    const c = resolveLayerConfig(config);
    this.config = c;
    const H = c.hiddenSize;
    this.selfAttention = new MultiHeadAttention({
      hiddenSize: H,
      numHeads: c.numHeads,
      qkvBias: c.qkvBias,
      attentionDropout: c.attentionDropout,
      std: c.std,
    });
    this.attentionOut = new Linear(H, H, { std: c.std });
    this.ffnUp = new Linear(H, c.intermediateSize, { std: c.std });
    this.ffnDown = new Linear(c.intermediateSize, H, { std: c.std });
    this.ln1 = new LayerNorm(H, c.layerNormEps);
    this.ln2 = new LayerNorm(H, c.layerNormEps);
    if (c.naming === 'bert') {
      this.module(
        'attention',
        new Group({
          self: this.selfAttention,
          output: new Group({ dense: this.attentionOut, LayerNorm: this.ln1 }),
        }),
      );
      this.module('intermediate', new Group({ dense: this.ffnUp }));
      this.module('output', new Group({ dense: this.ffnDown, LayerNorm: this.ln2 }));
    } else {
      this.module(
        'attention',
        new Group({
          attention: this.selfAttention,
          output: new Group({ dense: this.attentionOut }),
        }),
      );
      this.module('intermediate', new Group({ dense: this.ffnUp }));
      this.module('output', new Group({ dense: this.ffnDown }));
      this.module('layernorm_before', this.ln1);
      this.module('layernorm_after', this.ln2);
    }
    this.dropout = this.module('dropout', new Dropout(c.hiddenDropout));
  }

  /** x: [b, t, H]; mask: additive, broadcastable to [b, heads, t, t] (e.g. `paddingMask(attentionMask)`). */
  forward(x: tf.Tensor, opts: { mask?: tf.Tensor; outputAttentions?: boolean } = {}): EncoderLayerOutput {
    let weights: tf.Tensor4D | undefined;
    const afterAttention = residual(x, this.config.norm, this.ln1, this.dropout, (input) => {
      const { context, weights: w } = this.selfAttention.forward(input, opts);
      weights = w && tf.keep(w); // survives residual()'s tidy; handed back to the caller's scope below
      const projected = this.attentionOut.forward(context);
      context.dispose();
      return projected;
    });
    const hidden = residual(afterAttention, this.config.norm, this.ln2, this.dropout, (input) =>
      feedForward(input, this.ffnUp, this.ffnDown, this.config),
    ) as tf.Tensor3D;
    afterAttention.dispose();
    return weights ? { hidden, attention: untracked(weights) } : { hidden };
  }

  /** The same in ONNX: x [b, t, H] → [b, t, H]; mask as `paddingMaskOnnx` makes it. */
  toOnnx(g: OnnxModuleGraph, x: string, mask?: string): string {
    const { norm } = this.config;
    const afterAttention = residualOnnx(
      g,
      x,
      norm,
      this.ln1,
      (input) => this.attentionOut.toOnnx(g, this.selfAttention.toOnnx(g, input, mask)),
      this.dropout,
    );
    return residualOnnx(
      g,
      afterAttention,
      norm,
      this.ln2,
      (input) => feedForwardOnnx(g, input, this.ffnUp, this.ffnDown, this.config),
      this.dropout,
    );
  }
}
