import {
  checkHeadWeights,
  deviceOf,
  fetchModelFile,
  type HubOptions,
  isModelUrl,
  Pipeline,
  PipelineError,
  type PipelineOptions,
  preparePipeline,
  type ResolvedDevice,
  readPretrainedFolder,
  readSafetensorsInfo,
  resolvePretrainedDir,
  runningDevice,
  tf,
  weightCandidates,
  withDeferredInit,
} from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';
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
  top_k?: number;
  /** @deprecated Use `top_k`. */
  topK?: number;
}

/** @deprecated Use `device` ('native' for onnx); kept for `pipeline(…, { runtime })`. */
export interface PipelineRuntimeOptions {
  /** @deprecated 'onnx' is `device: 'native'`; 'tfjs' the tfjs backend already running. */
  runtime?: 'tfjs' | 'onnx';
  /** Threads for the native engine or the wasm backend (default: every core). */
  threads?: number;
}

type Result = ImageClassification[] | ImageClassification[][];

// One image gives its list, a list of images one list each (call signatures the class alone cannot declare).
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: adds call overloads to the callable class
export interface ImageClassificationPipeline {
  (image: ImageInput, options?: ImageClassificationOptions): Promise<ImageClassification[]>;
  (images: ImageInput[], options?: ImageClassificationOptions): Promise<ImageClassification[][]>;
}

/**
 * A loaded model + processor, called like a function: `await classify(image, { top_k })`. One image gives
 * its `[{ label, score }]`, a list one such list per image. On the native device `onnx` runs the model and
 * `model` keeps only its config. `dispose` frees the weights.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above adds call overloads
export class ImageClassificationPipeline extends Pipeline<
  ImageInput | ImageInput[],
  ImageClassificationOptions,
  Result
> {
  static readonly task = 'image-classification';
  constructor(
    readonly model: ViTForImageClassification,
    readonly processor: ViTImageProcessor,
    readonly defaults: ImageClassificationOptions = {},
    readonly onnx?: ViTOnnxRuntime,
    /** Default: the native engine with `onnx`, else the tfjs backend running now. */
    device?: ResolvedDevice,
  ) {
    super(ImageClassificationPipeline.task, device ?? runningDevice(!!onnx));
  }

  /** The labels in id order (config.json id2label). */
  get labels(): string[] {
    return this.model.config.labels;
  }

  /** Leaves no tensors behind. */
  protected async _call(
    images: ImageInput | ImageInput[],
    opts: ImageClassificationOptions = {},
  ): Promise<Result> {
    const list = Array.isArray(images) ? images : [images];
    const k = this.topK(opts);
    const results = await this.classify(
      await this.processor.preprocessToArray(list, { ...this.defaults, ...opts }),
      k,
    );
    return Array.isArray(images) ? results : results[0]!;
  }

  /**
   * Classifies a stream of images (an array, or an async iterable such as paths read from a listing) in
   * batches of `batchSize` (default 16), yielding one result list per image in input order. The next batch's
   * decoding starts before the model runs the current one: the decoder's threads (sharp's, in Node) work while
   * the model computes (onnxruntime-node computes on the calling thread, so the resizing, in JS, waits for it).
   * Each image's result equals its own call's result.
   */
  async *stream(
    images: Iterable<ImageInput> | AsyncIterable<ImageInput>,
    opts: ImageClassificationOptions & { batchSize?: number } = {},
  ): AsyncGenerator<ImageClassification[]> {
    const k = this.topK(opts);
    const batchSize = opts.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new PipelineError('BAD_OPTION', `batchSize: expected a whole number ≥ 1, got ${batchSize}`);
    const decode = { ...this.defaults, ...opts };
    const source =
      Symbol.asyncIterator in images
        ? (images as AsyncIterable<ImageInput>)[Symbol.asyncIterator]()
        : (images as Iterable<ImageInput>)[Symbol.iterator]();
    const nextBatch = async () => {
      const batch: ImageInput[] = [];
      while (batch.length < batchSize) {
        const r = await source.next();
        if (r.done) break;
        batch.push(r.value);
      }
      return batch.length ? this.processor.preprocessToArray(batch, decode) : undefined;
    };
    let pending = nextBatch();
    try {
      for (;;) {
        const pixels = await pending;
        if (!pixels) return;
        // The model first, so that its run is handed to the native engine before the next batch's decoding
        // takes the main thread.
        const results = this.classify(pixels, k);
        pending = nextBatch();
        // Awaited after this batch; until then its failure must not count as unhandled.
        pending.catch(() => {});
        yield* await results;
      }
    } finally {
      // A consumer that stops early (break) closes the source, as for…of would.
      await source.return?.();
    }
  }

  private topK(opts: ImageClassificationOptions): number {
    const topK = opts.top_k ?? opts.topK ?? this.defaults.top_k ?? this.defaults.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 1)
      throw new PipelineError('BAD_OPTION', `top_k: expected a whole number ≥ 1, got ${topK}`);
    return Math.min(topK, this.labels.length);
  }

  /** The model on preprocessed pixels [N, 3, H, W], softmax, the `k` best of each image; leaves no tensors. */
  private async classify(
    { data, shape }: { data: Float32Array; shape: [number, number, number, number] },
    k: number,
  ): Promise<ImageClassification[][]> {
    const pixels = tf.tensor4d(data, shape);
    let logits: tf.Tensor;
    try {
      ({ logits } = this.onnx
        ? await this.onnx.forward(pixels)
        : tf.tidy(() => ({ logits: this.model.forward(pixels).logits })));
    } finally {
      pixels.dispose();
    }
    const probs = tf.softmax(logits);
    logits.dispose();
    const p = await probs.data();
    probs.dispose();
    const labels = this.labels;
    return Array.from({ length: shape[0] }, (_, n) => {
      const row = Array.from(p.subarray(n * labels.length, (n + 1) * labels.length));
      const order = row.map((_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
      return order.slice(0, k).map((i) => ({ label: labels[i]!, score: row[i]! }));
    });
  }

  /** @deprecated Call the pipeline: `await classify(images, { top_k })`. */
  async run(image: ImageInput, opts?: ImageClassificationOptions): Promise<ImageClassification[]>;
  async run(images: ImageInput[], opts?: ImageClassificationOptions): Promise<ImageClassification[][]>;
  async run(images: ImageInput | ImageInput[], opts: ImageClassificationOptions = {}): Promise<Result> {
    return this._call(images, opts);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
    await this.onnx?.dispose();
  }
}

/**
 * transformers.js-style factory: `await pipeline('image-classification', dirOrHubId, { device, top_k })`.
 * Loads the model and its `preprocessor_config.json` from the same folder (or hub id); starts the device
 * itself (no `initBackend` needed). A checkpoint without a trained classifier (a bare ViTModel) is a
 * MissingWeightsError unless `allowRandomHead`.
 */
export async function pipeline(
  task: 'image-classification',
  modelDirOrId: string,
  opts: Omit<ImageClassificationOptions, 'maxPixels'> & { maxPixels?: number } & PipelineOptions &
    PipelineRuntimeOptions = {},
): Promise<ImageClassificationPipeline> {
  if (task !== 'image-classification')
    throw new PipelineError('UNKNOWN_TASK', `pipeline: unsupported task "${task}" (image-classification)`);
  const { top_k, topK, maxPixels, runtime, ...rest } = opts;
  const ctx = await preparePipeline(
    task,
    modelDirOrId,
    { ...rest, device: await deviceOf(opts) },
    resolvePretrainedDir,
  );
  const { dir, hub } = ctx;
  checkHeadWeights(task, dir, await missingHead(dir, hub), { allowRandomHead: opts.allowRandomHead });
  const processor = await ViTImageProcessor.fromPretrained(dir, hub);
  const defaults = { top_k: top_k ?? topK, maxPixels };
  let pipe: ImageClassificationPipeline;
  if (ctx.device.engine === 'onnx') {
    // The weights go from the file to onnxruntime; `model` is built deferred (config and names, no weights).
    const onnx = await ViTOnnxRuntime.fromPretrained(dir, {
      ...hub,
      ...(opts.threads && { threads: opts.threads }),
      dtype: ctx.dtype,
    });
    const model = withDeferredInit(() => new ViTForImageClassification(onnx.config));
    pipe = new ImageClassificationPipeline(model, processor, defaults, onnx, ctx.device);
  } else {
    const model = await ViTForImageClassification.fromPretrained(dir, hub);
    pipe = new ImageClassificationPipeline(model, processor, defaults, undefined, ctx.device);
  }
  ctx.progress.ready(task);
  return pipe;
}

/** The classifier tensors the checkpoint lacks, read from the weights' header alone. */
async function missingHead(dir: string, hub: HubOptions): Promise<string[]> {
  const has = (names: string[]) => ['classifier.weight', 'classifier.bias'].filter((n) => !names.includes(n));
  if (isModelUrl(dir)) {
    // A page: the weights' header, from the bytes loading then reads again from the Cache API.
    for (const w of weightCandidates(hub.dtype)) {
      const single = await fetchModelFile(`${dir}/${w.single}`, w.single, hub);
      if (single) return has((await readSafetensorsInfo(single)).tensors.map((t) => t.name));
      const index = await fetchModelFile(`${dir}/${w.index}`, w.index, hub);
      if (index)
        return has(
          Object.keys(
            (JSON.parse(new TextDecoder().decode(index)) as { weight_map?: object }).weight_map ?? {},
          ),
        );
    }
    return []; // loading names what is missing
  }
  const { weights } = await readPretrainedFolder(dir, hub);
  let names: string[];
  if (weights.endsWith('.index.json')) {
    const { readFile } = node.fsp;
    names = Object.keys(
      (JSON.parse(await readFile(weights, 'utf8')) as { weight_map?: object }).weight_map ?? {},
    );
  } else names = (await readSafetensorsInfo(weights)).tensors.map((t) => t.name);
  return ['classifier.weight', 'classifier.bias'].filter((n) => !names.includes(n));
}
