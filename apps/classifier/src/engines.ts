/**
 * What the app needs from a model, as small interfaces. The commands and the server see only these;
 * `load*` below call the packages' one pipeline API (@attn/vit, @attn/bert) on the device the user chose and
 * add what the app shows beside it (finite checks, attention pictures); the app never computes a model itself.
 */

import { BertForSequenceClassification, pipeline as bertPipeline } from '@attn/bert';
import { type BackendPreference, type Device, type DType, resolvePretrainedDir } from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import { decodeImage, heatmapOverlay, ViTForImageClassification, pipeline as vitPipeline } from '@attn/vit';
import { imageRollout, type TokenAttention, tokenAttention } from './attention-maps.js';
import type { Prediction } from './io.js';

export type { TokenAttention } from './attention-maps.js';

import { withColourBar } from './render/colour-bar.js';

/** A file path or the encoded bytes of a PNG / JPEG / WebP / GIF. */
export type ImageInput = string | Uint8Array;

/** The engine a model runs on, as the pipeline reports it: "native (onnxruntime-node)", "wasm (2 threads)". */
interface Placed {
  readonly device?: string;
}

export interface ImageClassifier extends Placed {
  readonly labels: string[];
  classify(images: ImageInput[], topK: number): Promise<Prediction[][]>;
  /** Attention rollout drawn over the image, as PNG bytes. */
  attentionPng(image: ImageInput): Promise<Uint8Array>;
  dispose(): void;
}

export interface TextClassifier extends Placed {
  readonly labels: string[];
  classify(texts: string[], topK: number): Promise<Prediction[][]>;
  attention(text: string, layer?: number): Promise<TokenAttention>;
  dispose(): void;
}

export interface FillMaskPrediction extends Prediction {
  tokenId: number;
  sequence: string;
}

export interface MaskFiller extends Placed {
  /** One list of candidates per [MASK] of the text, in text order. */
  fill(text: string, topK: number): Promise<FillMaskPrediction[][]>;
  dispose(): void;
}

export interface Embedder extends Placed {
  embed(texts: string[]): Promise<Float32Array[]>;
  /** A text's token ids, truncated as the model takes them: its length orders the batches (tokenized once). */
  tokenize(text: string): number[];
  /**
   * One vector per text from its `tokenize` ids, as `embed` of the texts gives. `describe(i)` names input i
   * (its text, its line) in a NonFiniteOutputError.
   */
  embedTokens(ids: number[][], describe?: (i: number) => string): Promise<Float32Array[]>;
  dispose(): void | Promise<void>;
}

export interface EmbedOptions {
  pooling: 'mean' | 'cls';
  normalize: boolean;
  /** Default 'auto': the fastest engine on this machine (native when onnxruntime-node is installed). */
  device?: Device;
  /** Weight precision (default 'fp32'): reads model.fp16/q8.safetensors where the folder has them. */
  dtype?: DType;
  /** @deprecated Use `device` ('onnx' is 'native'); passed to the pipeline's own deprecation path. */
  runtime?: 'tfjs' | 'onnx';
  /** @deprecated Ignored: the device computes on every core by itself. */
  workers?: number;
  /** @deprecated Ignored: the pipeline starts its device itself. */
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

export const describeText = (text: string) =>
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
export async function loadTextClassifier(
  spec: string,
  device?: Device,
  dtype?: DType,
): Promise<TextClassifier> {
  const pipe = await bertPipeline('text-classification', spec, { device, dtype });
  // onnxruntime returns no attention maps: the pictures come from the tfjs model, loaded on first use.
  let tfjsModel: Promise<BertForSequenceClassification> | undefined;
  const attentionModel = () => {
    if (!pipe.onnx) return Promise.resolve(pipe.model);
    tfjsModel ??= BertForSequenceClassification.fromPretrained(spec, { dtype });
    return tfjsModel;
  };
  return {
    labels: pipe.labels,
    device: pipe.device.description,
    classify: async (texts, topK) =>
      finitePredictions(spec, (await pipe(texts, { top_k: topK })) as Prediction[][], (i) =>
        describeText(texts[i]),
      ),
    async attention(text, layer) {
      return tokenAttention(await attentionModel(), pipe.tokenizer, pipe.maxLength, text, layer);
    },
    dispose: () => {
      void pipe.dispose();
      void tfjsModel?.then((m) => m.dispose());
    },
  };
}

export async function loadMaskFiller(spec: string, device?: Device, dtype?: DType): Promise<MaskFiller> {
  const pipe = await bertPipeline('fill-mask', spec, { device, dtype });
  return {
    device: pipe.device.description,
    async fill(text, topK) {
      const out = await pipe(text, { top_k: topK });
      // transformers.js' shape: one flat list for a single mask, a list per mask for several
      const perMask = (Array.isArray(out[0]) ? out : [out]) as {
        score: number;
        token: number;
        token_str: string;
        sequence: string;
      }[][];
      return perMask.map((candidates) =>
        candidates.map((p) => ({
          label: p.token_str,
          score: p.score,
          tokenId: p.token,
          sequence: p.sequence,
        })),
      );
    },
    dispose: () => void pipe.dispose(),
  };
}

export async function loadEmbedder(spec: string, opts: EmbedOptions): Promise<Embedder> {
  const { pooling, normalize } = opts;
  const pipe = await bertPipeline('feature-extraction', spec, {
    device: opts.device,
    dtype: opts.dtype,
    runtime: opts.runtime,
  });
  const embedTokens = async (ids: number[][], describe: (i: number) => string) => {
    const vectors = await pipe.embedTokens(ids, { pooling, normalize });
    checkFinite(spec, vectors, describe);
    return vectors;
  };
  return {
    device: pipe.device.description,
    embed: (texts) =>
      embedTokens(
        texts.map((t) => pipe.tokenIds(t)),
        (i) => describeText(texts[i]),
      ),
    tokenize: (text) => pipe.tokenIds(text),
    embedTokens: (ids, describe = (i) => `text ${i + 1} of the batch`) => embedTokens(ids, describe),
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
export async function loadImageClassifier(
  spec: string,
  device?: Device,
  dtype?: DType,
): Promise<ImageClassifier> {
  const pipe = await vitPipeline('image-classification', spec, { device, dtype });
  const { processor } = pipe;
  // onnxruntime returns no attention maps: the rollout comes from the tfjs model, loaded on first use.
  let tfjsModel: Promise<ViTForImageClassification> | undefined;
  const attentionModel = () => {
    if (!pipe.onnx) return Promise.resolve(pipe.model);
    tfjsModel ??= ViTForImageClassification.fromPretrained(spec, { dtype });
    return tfjsModel;
  };
  return {
    labels: pipe.labels,
    device: pipe.device.description,
    classify: async (images, topK) =>
      finitePredictions(spec, (await pipe(images, { top_k: topK })) as Prediction[][], (i) => {
        const image = images[i];
        return typeof image === 'string' ? `the image ${image}` : `image ${i + 1} of the batch`;
      }),
    async attentionPng(image) {
      const model = await attentionModel();
      const { pixelValues } = await processor.preprocess([image]);
      try {
        const { map, key } = await imageRollout(model, pixelValues);
        return await withColourBar(heatmapOverlay(await decodeImage(image), map), key);
      } finally {
        pixelValues.dispose();
      }
    },
    dispose: () => {
      void pipe.dispose();
      void tfjsModel?.then((m) => m.dispose());
    },
  };
}
