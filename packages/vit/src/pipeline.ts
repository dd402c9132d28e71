import { type HubOptions, tf, withDeferredInit } from '@attn/core-tensor';
import { ViTOnnxRuntime } from './export/onnx-runtime.js';
import type { DecodeOptions } from './image/decode.js';
import { ViTForImageClassification } from './model.js';
import { type ImageInput, ViTImageProcessor } from './processor.js';

export interface ImageClassification {
  label: string;
  /** Softmax probability. */
  score: number;
}

export interface ImageClassificationOptions extends DecodeOptions {
  /** How many classes to return per image, best first (default 5, capped at the number of labels). */
  topK?: number;
}

export interface PipelineRuntimeOptions {
  /**
   * 'tfjs' (default): the active tfjs backend. 'onnx': the weights are compiled to ONNX at load and run by
   * onnxruntime-node (install it; Node only, inference only): same outputs, native speed.
   */
  runtime?: 'tfjs' | 'onnx';
  /** Threads for the 'onnx' runtime (default: every core). */
  threads?: number;
}

/**
 * A loaded model + processor. Call `run`; `dispose` frees the weights. With an `onnx` runtime, that runs
 * the model and `model` keeps only its config.
 */
export class ImageClassificationPipeline {
  constructor(
    readonly model: ViTForImageClassification,
    readonly processor: ViTImageProcessor,
    readonly defaults: ImageClassificationOptions = {},
    readonly onnx?: ViTOnnxRuntime,
  ) {}

  /** One image → its top-k classes; a list → one list per image. Leaves no tensors behind. */
  async run(image: ImageInput, opts?: ImageClassificationOptions): Promise<ImageClassification[]>;
  async run(images: ImageInput[], opts?: ImageClassificationOptions): Promise<ImageClassification[][]>;
  async run(
    images: ImageInput | ImageInput[],
    opts: ImageClassificationOptions = {},
  ): Promise<ImageClassification[] | ImageClassification[][]> {
    const o = { ...this.defaults, ...opts };
    const list = Array.isArray(images) ? images : [images];
    const { data, shape } = await this.processor.preprocessToArray(list, o);
    const pixels = tf.tensor4d(data, shape);
    const { logits } = this.onnx
      ? await this.onnx.forward(pixels)
      : tf.tidy(() => ({ logits: this.model.forward(pixels).logits }));
    const probs = tf.softmax(logits);
    tf.dispose([pixels, logits]);
    const p = await probs.data();
    probs.dispose();
    const labels = this.model.config.labels;
    const k = Math.min(o.topK ?? 5, labels.length);
    const results = list.map((_, n) => {
      const row = Array.from(p.subarray(n * labels.length, (n + 1) * labels.length));
      const order = row.map((_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
      return order.slice(0, k).map((i) => ({ label: labels[i], score: row[i] }));
    });
    return Array.isArray(images) ? results : results[0];
  }

  dispose(): void {
    this.model.dispose();
    void this.onnx?.dispose();
  }
}

/**
 * Hugging Face-style factory: `await pipeline('image-classification', dirOrHubId, { topK })`.
 * Loads the model and its `preprocessor_config.json` from the same folder (or hub id).
 */
export async function pipeline(
  task: 'image-classification',
  modelDirOrId: string,
  opts: ImageClassificationOptions & HubOptions & PipelineRuntimeOptions = {},
): Promise<ImageClassificationPipeline> {
  if (task !== 'image-classification')
    throw new RangeError(`pipeline: unsupported task "${task}" (image-classification)`);
  const { topK, maxPixels, runtime = 'tfjs', threads, ...hub } = opts;
  if (runtime !== 'tfjs' && runtime !== 'onnx')
    throw new RangeError(`pipeline: unknown runtime "${runtime}" (tfjs, onnx)`);
  const processor = await ViTImageProcessor.fromPretrained(modelDirOrId, hub);
  if (runtime === 'onnx') {
    // The weights go from the file to onnxruntime; `model` is built deferred (config and names, no weights).
    const onnx = await ViTOnnxRuntime.fromPretrained(modelDirOrId, { ...hub, ...(threads && { threads }) });
    const model = withDeferredInit(() => new ViTForImageClassification(onnx.config));
    return new ImageClassificationPipeline(model, processor, { topK, maxPixels }, onnx);
  }
  const model = await ViTForImageClassification.fromPretrained(modelDirOrId, hub);
  return new ImageClassificationPipeline(model, processor, { topK, maxPixels });
}
