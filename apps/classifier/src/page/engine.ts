/**
 * The web page's in-browser engine: the one pipeline API of @attn/vit and @attn/bert on the device 'auto'
 * picks in a page (WebGPU on a real adapter, else WASM), and the same attention pictures as the server's,
 * drawn from in-page attention maps. scripts/build-web.mjs bundles this file (platform=browser) into
 * dist/web/attn-page.js, beside tfjs's .wasm files, where tfjs looks for them by default.
 */
import { pipeline as bertPipeline } from '@attn/bert';
import { type DType, type ProgressCallback, tf } from '@attn/core-tensor';
import { heatmapOverlay, type RawImage, pipeline as vitPipeline } from '@attn/vit';
import { imageRollout, tokenAttention, tokenAttentionTitle } from '../attention-maps.js';
import { type ColourBarOptions, colourBarFooterSvg, colourBarLayout } from '../render/colour-bar-svg.js';
import { tokenHeatmapSvg } from '../render/token-heatmap-svg.js';

export interface InPagePrediction {
  label: string;
  score: number;
}

export interface InPageResult {
  predictions: InPagePrediction[];
  /** The attention picture, as a data: URL an <img> shows. */
  attention: string;
  /** Milliseconds: the classification alone, and the attention picture after it. */
  ms: { classify: number; attention: number };
}

export interface InPageModel<In> {
  /** "wasm (1 thread)", "webgpu (…)": the device the pipeline runs on. */
  readonly device: string;
  /** Why 'auto' did not get WebGPU, when it did not. */
  readonly fallbackReason?: string;
  classify(input: In, topK: number): Promise<InPageResult>;
  dispose(): Promise<void>;
}

/**
 * Loads run one after another: two pipelines starting the device at once race in initBackend (the second
 * sees wasm half-initialised, falls back to cpu and switches the global backend under the first).
 */
let loading: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(load: () => Promise<T>): Promise<T> {
  const next = loading.then(load, load);
  loading = next.catch(() => {});
  return next;
}

const svgUrl = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

/** The server's picture (withColourBar): the overlay, and under it the colour key, as one PNG. */
async function overlayPng(overlay: RawImage, key: Omit<ColourBarOptions, 'width'>): Promise<string> {
  const { width, height } = overlay;
  const full = { ...key, width };
  const footer = colourBarLayout(full).total;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height + footer;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('attention picture: the browser gave no 2d canvas context');
  const rgba = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    rgba.data.set(overlay.data.subarray(i * 3, i * 3 + 3), i * 4);
    rgba.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(rgba, 0, 0);
  const bar = new Image();
  bar.src = svgUrl(colourBarFooterSvg(full));
  await bar.decode();
  ctx.drawImage(bar, 0, height);
  return canvas.toDataURL('image/png');
}

/**
 * `url`: the model folder (config.json, model.safetensors, preprocessor_config.json), relative to the page.
 * `dtype` 'fp16' / 'q8' fetches model.fp16/q8.safetensors instead (half / a quarter of the bytes), computed in
 * float32 in the page.
 */
export async function loadImageModel(
  url: string,
  progress_callback?: ProgressCallback,
  dtype?: DType,
): Promise<InPageModel<Blob>> {
  const pipe = await oneAtATime(() =>
    vitPipeline('image-classification', url, { device: 'auto', dtype, progress_callback }),
  );
  return {
    device: pipe.device.description,
    fallbackReason: pipe.device.fallbackReason,
    async classify(file, topK) {
      const t0 = performance.now();
      // Decoded once: the pipeline and the overlay read the same pixels.
      const rgb = await pipe.processor.loadRgb(file);
      const predictions = await pipe(rgb, { top_k: topK });
      const t1 = performance.now();
      const { pixelValues } = await pipe.processor.preprocess(rgb);
      let picture: string;
      try {
        const { map, key } = await imageRollout(pipe.model, pixelValues);
        picture = await overlayPng(heatmapOverlay(rgb, map), key);
      } finally {
        pixelValues.dispose();
      }
      return {
        predictions,
        attention: picture,
        ms: { classify: t1 - t0, attention: performance.now() - t1 },
      };
    },
    dispose: () => pipe.dispose(),
  };
}

/** `url`: the model folder (config.json, model.safetensors, tokenizer files), relative to the page; `dtype` as above. */
export async function loadTextModel(
  url: string,
  progress_callback?: ProgressCallback,
  dtype?: DType,
): Promise<InPageModel<string>> {
  const pipe = await oneAtATime(() =>
    bertPipeline('text-classification', url, { device: 'auto', dtype, progress_callback }),
  );
  return {
    device: pipe.device.description,
    fallbackReason: pipe.device.fallbackReason,
    async classify(text, topK) {
      const t0 = performance.now();
      const predictions = await pipe(text, { top_k: topK });
      const t1 = performance.now();
      const att = await tokenAttention(pipe.model, pipe.tokenizer, pipe.maxLength, text);
      const svg = tokenHeatmapSvg(att.tokens, att.weights, { title: tokenAttentionTitle(att) });
      return {
        predictions,
        attention: svgUrl(svg),
        ms: { classify: t1 - t0, attention: performance.now() - t1 },
      };
    },
    dispose: () => pipe.dispose(),
  };
}

/** Tensors alive in the page's tfjs engine: a classification must leave it as it was (the page's tests check). */
export const tensorCount = (): number => tf.memory().numTensors;
