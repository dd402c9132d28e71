/**
 * What the app needs from a model, as small interfaces. The commands and the server see only these;
 * `load*` below wires them to @attn/vit, @attn/bert and @attn/text-tokenizer (the app never computes a model itself).
 */

import { pipeline as bertPipeline, createFeatureExtractionPool } from '@attn/bert';
import { type BackendPreference, resolvePretrainedDir, tf } from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import { attentionRollout, decodeImage, heatmapOverlay, pipeline as vitPipeline } from '@attn/vit';
import sharp from 'sharp';
import type { Prediction } from './io.js';

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
    classify: (texts, topK) => pipe.call(texts, { topK }),
    async attention(text, layer) {
      const enc = pipe.tokenizer.encode(text, undefined, { maxLength: pipe.maxLength, truncation: true });
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
  if (workers > 1) {
    if (opts.runtime === 'onnx')
      throw new RangeError('workers: the onnx runtime already computes on every core; use one or the other');
    const pool = await createFeatureExtractionPool(spec, {
      workers,
      pooling,
      normalize,
      backend: opts.backend,
    });
    return { embed: (texts) => pool.embed(texts), dispose: () => pool.close() };
  }
  const pipe = await bertPipeline('feature-extraction', spec, { runtime: opts.runtime ?? 'tfjs' });
  return { embed: (texts) => pipe.call(texts, { pooling, normalize }), dispose: () => pipe.dispose() };
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
    classify: (images, topK) => pipe.run(images, { topK }),
    async attentionPng(image) {
      const { pixelValues } = await processor.preprocess([image]);
      const { logits, attentions } = model.forward(pixelValues, { outputAttentions: true });
      try {
        const [map] = await attentionRollout(attentions!);
        const { data, width, height } = heatmapOverlay(await decodeImage(image), map);
        return await sharp(data, { raw: { width, height, channels: 3 } })
          .png()
          .toBuffer();
      } finally {
        tf.dispose([pixelValues, logits, ...attentions!]);
      }
    },
    dispose: () => pipe.dispose(),
  };
}
