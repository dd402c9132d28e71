import { Module, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import { TransformerEncoderLayer } from './encoder-layer.js';
import { Group } from './group.js';
import type { TransformerLayerConfig } from './layer-config.js';

export interface EncoderOutput {
  /** [b, t, H]: the last layer's output. */
  lastHidden: tf.Tensor3D;
  /** numLayers + 1 tensors [b, t, H]: the input, then each layer's output (HF `hidden_states`). */
  hiddenStates?: tf.Tensor3D[];
  /** numLayers tensors [b, heads, t, t] (HF `attentions`). */
  attentions?: tf.Tensor4D[];
}

/** A stack of identical encoder layers, children `layer.0 … layer.{n-1}` as in Hugging Face. */
export class TransformerEncoder extends Module {
  readonly layers: TransformerEncoderLayer[];

  constructor(layerConfig: TransformerLayerConfig, numLayers: number) {
    super();
    this.layers = Array.from({ length: numLayers }, () => new TransformerEncoderLayer(layerConfig));
    this.module('layer', new Group(Object.fromEntries(this.layers.map((l, i) => [String(i), l]))));
  }

  /** x: [b, t, H]; mask: additive, e.g. `paddingMask(attentionMask)`. Every returned tensor is the caller's. */
  forward(
    x: tf.Tensor,
    opts: { mask?: tf.Tensor; outputAttentions?: boolean; outputHiddenStates?: boolean } = {},
  ): EncoderOutput {
    return tf.tidy(() => {
      const hiddenStates: tf.Tensor3D[] = [];
      const attentions: tf.Tensor4D[] = [];
      let h = x as tf.Tensor3D;
      if (opts.outputHiddenStates) hiddenStates.push(tf.clone(h));
      for (const layer of this.layers) {
        const out = layer.forward(h, { mask: opts.mask, outputAttentions: opts.outputAttentions });
        h = out.hidden;
        if (opts.outputHiddenStates) hiddenStates.push(h);
        if (out.attention) attentions.push(out.attention);
      }
      return {
        lastHidden: h === x ? tf.clone(h) : h,
        ...(opts.outputHiddenStates ? { hiddenStates } : {}),
        ...(opts.outputAttentions ? { attentions } : {}),
      };
    });
  }

  /** The same in ONNX: x [b, t, H] → the last layer's output [b, t, H]. */
  toOnnx(g: OnnxModuleGraph, x: string, mask?: string): string {
    return this.layers.reduce((h, layer) => layer.toOnnx(g, h, mask), x);
  }
}
