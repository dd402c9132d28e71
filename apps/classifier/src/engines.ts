/**
 * What the app needs from a model, as small interfaces. The commands and the server see only these;
 * `load*` below wires them to @attn/vit, @attn/bert and @attn/text-tokenizer (the app never computes a model itself).
 */

import { pipeline as bertPipeline, createFeatureExtractionPool } from '@attn/bert';
import { type BackendPreference, resolvePretrainedDir, tf } from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import {
  attentionRollout,
  decodeImage,
  heatmapColour,
  heatmapOverlay,
  pipeline as vitPipeline,
} from '@attn/vit';
import type { Prediction } from './io.js';
import { withColourBar } from './render/colour-bar.js';

/** A file path or the encoded bytes of a PNG / JPEG / WebP / GIF. */
export type ImageInput = string | Uint8Array;

export interface ImageClassifier {
  readonly labels: string[];
  classify(images: ImageInput[], topK: number): Promise<Prediction[][]>;
  /** Attention rollout drawn over the image, as PNG bytes. */
  attentionPng(image: ImageInput): Promise<Uint8Array>;
  dispose(): void;
}

export interface TokenAttention {
  tokens: string[];
  /** [tokens, tokens]: a layer's attention probabilities averaged over heads (rows are queries). */
  weights: number[][];
  layer: number;
}

export interface TextClassifier {
  readonly labels: string[];
  classify(texts: string[], topK: number): Promise<Prediction[][]>;
  attention(text: string, layer?: number): Promise<TokenAttention>;
  dispose(): void;
}

export interface FillMaskPrediction extends Prediction {
  tokenId: number;
  sequence: string;
}

export interface MaskFiller {
  fill(text: string, topK: number): Promise<FillMaskPrediction[]>;
  dispose(): void;
}

export interface Embedder {
  embed(texts: string[]): Promise<Float32Array[]>;
  dispose(): void | Promise<void>;
}

export interface EmbedOptions {
  pooling: 'mean' | 'cls';
  normalize: boolean;
  /** 'onnx': the model runs on onnxruntime-node (native kernels, every core) instead of tfjs. */
  runtime?: 'tfjs' | 'onnx';
  /** tfjs only: more than 1 spreads each batch over this many worker threads, each with a model copy. */
  workers?: number;
  /** The backend the workers start (the one the command selected). */
  backend?: BackendPreference;
}

export interface Tokenized {
  tokens: string[];
  ids: number[];
}

/**
 * A model gave NaN or ±Infinity (broken weights, a bad config value): there is no score or vector to print,
 * and `NaN` is not even JSON. `index` is the input's place in the batch, so callers can name the line or file.
 */
export class NonFiniteOutputError extends Error {
  override readonly name = 'NonFiniteOutputError';
  constructor(
    readonly model: string,
    readonly index: number,
    readonly input: string,
  ) {
    super(`model ${model} gave NaN or Infinity for ${input}`);
  }
}

/** Throws NonFiniteOutputError for the first output holding a value that is not finite. */
function checkFinite(model: string, outputs: ArrayLike<number>[], input: (i: number) => string): void {
  for (let i = 0; i < outputs.length; i++) {
    const v = outputs[i];
    for (let j = 0; j < v.length; j++)
      if (!Number.isFinite(v[j])) throw new NonFiniteOutputError(model, i, input(i));
  }
}

const describeText = (text: string) =>
  `the text ${JSON.stringify(text.length > 60 ? `${text.slice(0, 59)}…` : text)}`;

/** Predictions, after checking that no score is NaN or infinite. */
function finitePredictions(model: string, out: Prediction[][], input: (i: number) => string): Prediction[][] {
  checkFinite(
    model,
    out.map((p) => p.map((x) => x.score)),
    input,
  );
  return out;
}

// ---- adapters over the packages ----------------------------------------------------------------------

/** Text classification: @attn/bert's pipeline; attention from the same model with outputAttentions. */
export async function loadTextClassifier(spec: string): Promise<TextClassifier> {
  const pipe = await bertPipeline('text-classification', spec);
  const config = pipe.model.config;
  const labels = Object.keys(config.id2label)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => config.id2label[k]);
  return {
    labels,
    classify: async (texts, topK) =>
      finitePredictions(spec, await pipe.call(texts, { topK }), (i) => describeText(texts[i])),
    async attention(text, layer) {
      const clipped = pipe.tokenizer.truncationPrefix(text, pipe.maxLength);
      const enc = pipe.tokenizer.encode(clipped, undefined, { maxLength: pipe.maxLength, truncation: true });
      const last = config.num_hidden_layers - 1;
      const l = layer ?? last;
      if (!Number.isInteger(l) || l < 0 || l > last)
        throw new RangeError(`layer must be 0..${last}, got ${layer}`);
      const mean = tf.tidy(() => {
        const { attentions } = pipe.model.forward(
          { inputIds: [enc.inputIds], attentionMask: [enc.attentionMask], tokenTypeIds: [enc.tokenTypeIds] },
          { outputAttentions: true },
        );
        return tf.mean(tf.squeeze(attentions![l], [0]), 0); // [heads, t, t] → [t, t]
      });
      const weights = (await mean.array()) as number[][];
      mean.dispose();
      return { tokens: enc.tokens, weights, layer: l };
    },
    dispose: () => pipe.dispose(),
  };
}

export async function loadMaskFiller(spec: string): Promise<MaskFiller> {
  const pipe = await bertPipeline('fill-mask', spec);
  return {
    async fill(text, topK) {
      const [first] = await pipe.call(text, { topK });
      return first.map((p) => ({
        label: p.tokenStr,
        score: p.score,
        tokenId: p.token,
        sequence: p.sequence,
      }));
    },
    dispose: () => pipe.dispose(),
  };
}

export async function loadEmbedder(spec: string, opts: EmbedOptions): Promise<Embedder> {
  const { pooling, normalize, workers = 1 } = opts;
  const finiteVectors = (vectors: Float32Array[], texts: string[]) => {
    checkFinite(spec, vectors, (i) => describeText(texts[i]));
    return vectors;
  };
  if (workers > 1) {
    if (opts.runtime === 'onnx')
      throw new RangeError('workers: the onnx runtime already computes on every core; use one or the other');
    const pool = await createFeatureExtractionPool(spec, {
      workers,
      pooling,
      normalize,
      backend: opts.backend,
    });
    return {
      embed: async (texts) => finiteVectors(await pool.embed(texts), texts),
      dispose: () => pool.close(),
    };
  }
  const pipe = await bertPipeline('feature-extraction', spec, { runtime: opts.runtime ?? 'tfjs' });
  return {
    embed: async (texts) => finiteVectors(await pipe.call(texts, { pooling, normalize }), texts),
    dispose: () => pipe.dispose(),
  };
}

/** The tokenizer alone (no model, no tensors). */
export async function loadTokenizer(spec: string): Promise<(text: string) => Tokenized> {
  const tokenizer = await BertTokenizer.fromPretrained(await resolvePretrainedDir(spec));
  return (text) => {
    const enc = tokenizer.encode(text);
    return { tokens: enc.tokens, ids: enc.inputIds };
  };
}

/** Image classification: @attn/vit's pipeline; the attention rollout from the same model with outputAttentions. */
export async function loadImageClassifier(spec: string): Promise<ImageClassifier> {
  const pipe = await vitPipeline('image-classification', spec);
  const { model, processor } = pipe;
  return {
    labels: model.config.labels,
    classify: async (images, topK) =>
      finitePredictions(spec, await pipe.run(images, { topK }), (i) => {
        const image = images[i];
        return typeof image === 'string' ? `the image ${image}` : `image ${i + 1} of the batch`;
      }),
    async attentionPng(image) {
      const { pixelValues } = await processor.preprocess([image]);
      const { logits, attentions } = model.forward(pixelValues, { outputAttentions: true });
      try {
        const [map] = await attentionRollout(attentions!);
        return await withColourBar(heatmapOverlay(await decodeImage(image), map), {
          colormap: heatmapColour,
          // the overlay scales the map by its largest value: colour 0 is weight 0, colour 1 the largest
          min: 0,
          max: Math.max(...map.values),
          caption: [
            `attention rollout over all ${attentions!.length} layers, heads averaged`,
            'colour: how much [CLS] draws on each patch, from 0 to the largest share',
          ],
        });
      } finally {
        tf.dispose([pixelValues, logits, ...attentions!]);
      }
    },
    dispose: () => pipe.dispose(),
  };
}
