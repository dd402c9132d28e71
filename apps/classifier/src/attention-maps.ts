/**
 * The attention the app draws, computed from a loaded tfjs model: one text's token × token map, one image's
 * rollout. Browser-safe (no sharp, no node:*): the server (engines.ts) and the in-page engine (page/) both
 * call these, so the page and the server draw the same picture from the same numbers.
 */
import type { BertForSequenceClassification } from '@attn/bert';
import { tf } from '@attn/core-tensor';
import type { BertTokenizer } from '@attn/text-tokenizer';
import { attentionRollout, heatmapColour, type PatchMap, type ViTForImageClassification } from '@attn/vit';
import type { ColourBarOptions } from './render/colour-bar-svg.js';

export interface TokenAttention {
  tokens: string[];
  /** [tokens, tokens]: a layer's attention probabilities averaged over heads (rows are queries). */
  weights: number[][];
  layer: number;
}

/**
 * Layer `layer` (default the last) of the model's attention for `text`, averaged over heads, with the text
 * truncated as the text-classification pipeline truncates it. Leaves no tensors.
 */
export async function tokenAttention(
  model: BertForSequenceClassification,
  tokenizer: BertTokenizer,
  maxLength: number,
  text: string,
  layer?: number,
): Promise<TokenAttention> {
  const clipped = tokenizer.truncationPrefix(text, maxLength);
  const enc = tokenizer.encode(clipped, undefined, { maxLength, truncation: true });
  const last = model.config.num_hidden_layers - 1;
  const l = layer ?? last;
  if (!Number.isInteger(l) || l < 0 || l > last)
    throw new RangeError(`layer must be 0..${last}, got ${layer}`);
  const mean = tf.tidy(() => {
    const { attentions } = model.forward(
      { inputIds: [enc.inputIds], attentionMask: [enc.attentionMask], tokenTypeIds: [enc.tokenTypeIds] },
      { outputAttentions: true },
    );
    return tf.mean(tf.squeeze(attentions![l], [0]), 0); // [heads, t, t] → [t, t]
  });
  const weights = (await mean.array()) as number[][];
  mean.dispose();
  return { tokens: enc.tokens, weights, layer: l };
}

/** The title drawn over a text's attention picture. */
export const tokenAttentionTitle = (att: TokenAttention): string => `layer ${att.layer}, mean over heads`;

export interface ImageRollout {
  map: PatchMap;
  /** The colour key drawn under the overlay (heatmapOverlay scales the map by its largest value). */
  key: Omit<ColourBarOptions, 'width'>;
}

/** The attention rollout over all layers of one preprocessed image [1, 3, H, W]. Leaves no tensors. */
export async function imageRollout(
  model: ViTForImageClassification,
  pixelValues: tf.Tensor4D,
): Promise<ImageRollout> {
  const { logits, attentions } = model.forward(pixelValues, { outputAttentions: true });
  try {
    const [map] = await attentionRollout(attentions!);
    return {
      map,
      key: {
        colormap: heatmapColour,
        // the overlay scales the map by its largest value: colour 0 is weight 0, colour 1 the largest
        min: 0,
        max: Math.max(...map.values),
        caption: [
          `attention rollout over all ${attentions!.length} layers, heads averaged`,
          'colour: how much [CLS] draws on each patch, from 0 to the largest share',
        ],
      },
    };
  } finally {
    tf.dispose([logits, ...attentions!]);
  }
}
