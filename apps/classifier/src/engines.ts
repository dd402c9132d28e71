/**
 * What the app needs from a model, as small interfaces. The commands and the server see only these;
 * `load*` below wires them to @attn/vit, @attn/bert and @attn/text-tokenizer (the app never computes a model itself).
 */
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
  dispose(): void;
}

export interface EmbedOptions {
  pooling: 'mean' | 'cls';
  normalize: boolean;
}

export interface Tokenized {
  tokens: string[];
  ids: number[];
}
