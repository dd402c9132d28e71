import { Module, tf } from '@attn/core-tensor';
import { TransformerDecoderLayer } from './decoder-layer.js';
import { Group } from './group.js';
import type { TransformerLayerConfig } from './layer-config.js';

export interface DecoderOutput {
  /** [b, tq, H] */
  lastHidden: tf.Tensor3D;
  /** Per layer [b, heads, tq, tq] and [b, heads, tq, tk], when asked for. */
  selfAttentions?: tf.Tensor4D[];
  crossAttentions?: tf.Tensor4D[];
}

/** A stack of decoder layers, children `layer.0 … layer.{n-1}`. */
export class TransformerDecoder extends Module {
  readonly layers: TransformerDecoderLayer[];

  constructor(layerConfig: TransformerLayerConfig, numLayers: number) {
    super();
    this.layers = Array.from({ length: numLayers }, () => new TransformerDecoderLayer(layerConfig));
    this.module('layer', new Group(Object.fromEntries(this.layers.map((l, i) => [String(i), l]))));
  }

  forward(
    x: tf.Tensor,
    memory: tf.Tensor,
    opts: { selfMask?: tf.Tensor; memoryMask?: tf.Tensor; outputAttentions?: boolean } = {},
  ): DecoderOutput {
    return tf.tidy(() => {
      const selfAttentions: tf.Tensor4D[] = [];
      const crossAttentions: tf.Tensor4D[] = [];
      let h = x as tf.Tensor3D;
      for (const layer of this.layers) {
        const out = layer.forward(h, memory, opts);
        h = out.hidden;
        if (out.selfAttention) selfAttentions.push(out.selfAttention);
        if (out.crossAttention) crossAttentions.push(out.crossAttention);
      }
      return {
        lastHidden: h === x ? tf.clone(h) : h,
        ...(opts.outputAttentions ? { selfAttentions, crossAttentions } : {}),
      };
    });
  }
}
