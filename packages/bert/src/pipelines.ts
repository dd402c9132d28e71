import {
  type PipelineOptions as BasePipelineOptions,
  cachedFetch,
  checkHeadWeights,
  deviceOf,
  Pipeline,
  preparePipeline,
  type ResolvedDevice,
  resolvePretrainedDir,
  runningDevice,
  Tensor,
  tf,
  withDeferredInit,
} from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import { BertModel } from './bert-model.js';
import type { LoadingInfo, LoadOptions } from './checkpoint.js';
import { BertForSequenceClassification } from './classification.js';
import { type BertConfig, numLabels } from './config.js';
import { BertInputError } from './errors.js';
import { type BertArchitecture, type BertOnnxOutputs, BertOnnxRuntime } from './export/onnx-runtime.js';
import type { BertInputs } from './inputs.js';
import { batchByLength } from './length-batching.js';
import { poolHidden } from './pooling.js';
import type { BertPreTrainedModel } from './pretrained.js';
import { BertForMaskedLM, type BertForPreTraining } from './pretraining.js';
import { type Pooling, readSentenceTransformersConfig } from './sentence-transformers.js';

export type PipelineTask = 'fill-mask' | 'text-classification' | 'feature-extraction';

export interface PipelineOptions extends BasePipelineOptions, Omit<LoadOptions, 'onProgress'> {
  /** Longest input in tokens; longer texts are truncated. Default: the model's max_position_embeddings. */
  maxLength?: number;
  /** @deprecated Use `device`: 'onnx' is `device: 'native'`, 'tfjs' the tfjs backend already running. */
  runtime?: 'tfjs' | 'onnx';
}

type Encoded = { inputIds: number[][]; attentionMask: number[][]; tokenTypeIds: number[][] };
type ModelOutputs = BertOnnxOutputs & { attentions?: tf.Tensor4D[]; hiddenStates?: tf.Tensor3D[] };

/** Shared by the text pipelines: the tokenizer, the model on its engine, and batch encoding. */
abstract class TextPipeline<
  M extends BertPreTrainedModel & { forward(inputs: BertInputs): unknown },
  In,
  Opts,
  Out,
> extends Pipeline<In, Opts, Out> {
  readonly maxLength: number;
  /**
   * On the native device `onnx` runs the model and `model` keeps only its config (it holds no weights).
   */
  constructor(
    readonly tokenizer: BertTokenizer,
    readonly model: M,
    maxLength?: number,
    readonly onnx?: BertOnnxRuntime,
    /** Default: the native engine with `onnx`, else the tfjs backend running now. */
    device?: ResolvedDevice,
  ) {
    super((new.target as unknown as { task: PipelineTask }).task, device ?? runningDevice(!!onnx));
    this.maxLength = Math.min(maxLength ?? Number.POSITIVE_INFINITY, model.config.max_position_embeddings);
  }

  /** The model's outputs on either engine; the caller disposes them. */
  protected async forward(enc: Encoded): Promise<ModelOutputs> {
    return this.onnx ? this.onnx.forward(enc) : (this.model.forward(enc) as ModelOutputs);
  }

  /** Tokenizes, truncates to maxLength and pads to the longest text of the batch. */
  protected encode(texts: string[], pairs?: string[]): Encoded {
    if (texts.length === 0) throw new BertInputError('texts: empty batch');
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new BertInputError(`texts[${i}]: expected a string, got ${typeof t}`);
    });
    // Without a pair the text can be cut before WordPiece, to what truncation would keep anyway.
    const inputs = pairs
      ? texts.map((t, i) => [t, pairs[i] ?? ''] as const)
      : texts.map((t) => this.tokenizer.truncationPrefix(t, this.maxLength));
    const encs = this.tokenizer.encodeBatch(inputs, {
      maxLength: this.maxLength,
      truncation: true,
      padding: true,
    });
    return {
      inputIds: encs.map((e) => e.inputIds),
      attentionMask: encs.map((e) => e.attentionMask),
      tokenTypeIds: encs.map((e) => e.tokenTypeIds),
    };
  }

  /**
   * One text's token ids, truncated to maxLength ([CLS] … [SEP]): what `encode` gives it before padding. Kept
   * with the text by the length-aware streams, so the text is tokenized once, for both sorting and the model.
   */
  tokenIds(text: string, where = 'text'): number[] {
    if (typeof text !== 'string') throw new BertInputError(`${where}: expected a string, got ${typeof text}`);
    const clipped = this.tokenizer.truncationPrefix(text, this.maxLength);
    return this.tokenizer.encode(clipped, undefined, { maxLength: this.maxLength, truncation: true })
      .inputIds;
  }

  /** Single-segment token ids (from `tokenIds`) right-padded to the longest, as `encode` pads. */
  protected padded(ids: number[][]): Encoded {
    if (ids.length === 0) throw new BertInputError('texts: empty batch');
    const T = Math.max(...ids.map((x) => x.length));
    const pad = this.tokenizer.padTokenId;
    return {
      inputIds: ids.map((x) => [...x, ...new Array<number>(T - x.length).fill(pad)]),
      attentionMask: ids.map((x) => [
        ...new Array<number>(x.length).fill(1),
        ...new Array<number>(T - x.length).fill(0),
      ]),
      tokenTypeIds: ids.map(() => new Array<number>(T).fill(0)),
    };
  }

  async dispose(): Promise<void> {
    this.model.dispose();
    await this.onnx?.dispose();
  }
}

/** One candidate for a [MASK], in transformers.js' fields. */
export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  /** The text with this candidate in place of the mask. */
  sequence: string;
}

/** @deprecated The shape of the deprecated `.call()`; the pipeline itself returns FillMaskResult. */
export interface FillMaskPrediction {
  score: number;
  token: number;
  tokenStr: string;
  sequence: string;
}

export interface FillMaskOptions {
  /** Candidates per mask, best first (default 5). */
  top_k?: number;
}

/**
 * Predicts the tokens behind every [MASK] (HF "fill-mask"). As transformers.js: a text with one mask gives
 * one list of candidates, a text with several masks one list per mask; an array of texts one such result each.
 */
export class FillMaskPipeline extends TextPipeline<
  BertForMaskedLM | BertForPreTraining,
  string | string[],
  FillMaskOptions,
  FillMaskResult[] | FillMaskResult[][] | (FillMaskResult[] | FillMaskResult[][])[]
> {
  static readonly task = 'fill-mask';
  protected async _call(texts: string | string[], opts: FillMaskOptions = {}) {
    const list = Array.isArray(texts) ? texts : [texts];
    const perText = await this.perMask(list, opts.top_k ?? 5);
    const shaped = perText.map((masks) => (masks.length === 1 ? masks[0]! : masks));
    return Array.isArray(texts) ? shaped : shaped[0]!;
  }

  /** For each text, one list of `topK` candidates per mask. */
  private async perMask(texts: string[], topK: number): Promise<FillMaskResult[][][]> {
    if (!Number.isInteger(topK) || topK < 1)
      throw new BertInputError(`top_k: expected a whole number ≥ 1, got ${topK}`);
    const enc = this.encode(texts);
    const maskId = this.tokenizer.maskTokenId;
    const positions = enc.inputIds.map((ids, i) => {
      const at = ids.flatMap((id, t) => (id === maskId ? [t] : []));
      if (at.length === 0)
        throw new BertInputError(`fill-mask: text ${i} has no ${this.tokenizer.maskToken} token`);
      return at;
    });
    const T = enc.inputIds[0]!.length;
    const flat = positions.flatMap((at, i) => at.map((t) => i * T + t)); // rows of the [b·t, V] scores
    const out = await this.forward(enc);
    const { values, indices } = tf.tidy(() => {
      // tfjs heads name MLM scores predictionLogits; HF's MaskedLM (so its ONNX export) names them logits
      const scores = (out.predictionLogits ?? out.logits!) as tf.Tensor3D;
      const rows = tf.gather(tf.reshape(scores, [-1, scores.shape[2]]), flat); // [masks, V]
      return tf.topk(tf.softmax(rows), Math.min(topK, scores.shape[2]));
    });
    disposeOutputs(out);
    const scores = (await values.array()) as number[][];
    const tokens = (await indices.array()) as number[][];
    tf.dispose([values, indices]);
    let row = 0;
    return positions.map((at, i) =>
      at.map((pos) => {
        const r = row++;
        return tokens[r]!.map((token, k) => {
          const filled = [...enc.inputIds[i]!];
          filled[pos] = token;
          return {
            score: scores[r]![k]!,
            token,
            token_str: this.tokenizer.decode([token]),
            sequence: this.tokenizer.decode(filled, { skipSpecialTokens: true }),
          };
        });
      }),
    );
  }

  /** @deprecated Call the pipeline: `await fill(text, { top_k })`. One list per mask, camelCase fields. */
  override async call(text: string, opts: { topK?: number } = {}): Promise<FillMaskPrediction[][]> {
    const [masks] = await this.perMask([text], opts.topK ?? 5);
    return masks!.map((cands) => cands.map(({ token_str, ...p }) => ({ ...p, tokenStr: token_str })));
  }
}

export interface ClassificationResult {
  label: string;
  score: number;
}

// One text gives its list, a batch one list per text (the call signatures the class alone cannot declare).
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: adds call overloads to the callable class
export interface TextClassificationPipeline {
  (text: string, options?: TextClassificationOptions): Promise<ClassificationResult[]>;
  (texts: string[], options?: TextClassificationOptions): Promise<ClassificationResult[][]>;
}

export interface TextClassificationOptions {
  /** Labels per text, best first (default 1; `null` for all). */
  top_k?: number | null;
  /** The second segment of a sentence-pair task, one per text. */
  text_pair?: string | string[];
}

/** Sequence classification (HF "text-classification"): `[{ label, score }]` per text, best first. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above adds call overloads
export class TextClassificationPipeline extends TextPipeline<
  BertForSequenceClassification,
  string | string[],
  TextClassificationOptions,
  ClassificationResult[] | ClassificationResult[][]
> {
  static readonly task = 'text-classification';
  /** The labels in id order (config.json id2label). */
  get labels(): string[] {
    const id2label = this.model.config.id2label;
    return Array.from(
      { length: numLabels(this.model.config) },
      (_, i) => id2label[String(i)] ?? `LABEL_${i}`,
    );
  }

  protected async _call(texts: string | string[], opts: TextClassificationOptions = {}) {
    const list = Array.isArray(texts) ? texts : [texts];
    const pair = opts.text_pair;
    const rows = await this.classify(
      list,
      opts.top_k === undefined ? 1 : opts.top_k,
      pair === undefined ? undefined : Array.isArray(pair) ? pair : [pair],
    );
    return Array.isArray(texts) ? rows : rows[0]!;
  }

  private async classify(
    texts: string[],
    topK: number | null,
    pairs?: string[],
  ): Promise<ClassificationResult[][]> {
    if (topK !== null && (!Number.isInteger(topK) || topK < 1))
      throw new BertInputError(`top_k: expected a whole number ≥ 1 or null, got ${topK}`);
    const out = await this.forward(this.encode(texts, pairs));
    const probs = tf.tidy(() => {
      const logits = out.logits!;
      // HF's function_to_apply: sigmoid for one label or multi-label, softmax otherwise
      const sigmoid =
        numLabels(this.model.config) === 1 || this.model.config.problem_type === 'multi_label_classification';
      return sigmoid ? tf.sigmoid(logits) : tf.softmax(logits);
    });
    disposeOutputs(out);
    const rows = (await probs.array()) as number[][];
    probs.dispose();
    const labels = this.labels;
    return rows.map((row) =>
      row
        .map((score, i) => ({ label: labels[i]!, score }))
        .sort((a, b) => b.score - a.score)
        .slice(0, topK ?? Number.POSITIVE_INFINITY),
    );
  }

  /** @deprecated Call the pipeline: `await classify(texts, { top_k, text_pair })`. Always one list per text. */
  override async call(
    texts: string | string[],
    opts: { topK?: number | null; textPair?: string | string[] } = {},
  ) {
    const list = Array.isArray(texts) ? texts : [texts];
    const p = opts.textPair;
    return this.classify(
      list,
      opts.topK === undefined ? 1 : opts.topK,
      p === undefined ? undefined : Array.isArray(p) ? p : [p],
    );
  }
}

export interface FeatureExtractionOptions {
  /**
   * 'none': every token's vector ([b, t, H]); 'mean' (attention-mask aware), 'cls' or 'max' (over real tokens):
   * one vector per text ([b, H]). Default: what a sentence-transformers folder's 1_Pooling asks for, else 'none'.
   */
  pooling?: Pooling;
  /** L2-normalise each vector (for cosine similarity). Default: whether the folder has a Normalize module. */
  normalize?: boolean;
}

/**
 * Token or sentence vectors from the encoder's last hidden state (HF "feature-extraction"), returned as a
 * transformers.js-shaped Tensor. A sentence-transformers folder (modules.json) gives, with no options,
 * the vectors sentence-transformers gives.
 */
export class FeatureExtractionPipeline extends TextPipeline<
  BertModel,
  string | string[],
  FeatureExtractionOptions,
  Tensor
> {
  static readonly task = 'feature-extraction';
  /** The folder's own pooling (sentence-transformers) or 'none', and whether it normalises. */
  defaults: { pooling: Pooling; normalize: boolean } = { pooling: 'none', normalize: false };

  protected async _call(texts: string | string[], opts: FeatureExtractionOptions = {}): Promise<Tensor> {
    const list = Array.isArray(texts) ? texts : [texts];
    return this.embedEncoded(this.encode(list), opts);
  }

  /** The model and pooling on an encoded, padded batch. */
  private async embedEncoded(enc: Encoded, opts: FeatureExtractionOptions): Promise<Tensor> {
    const pooling = opts.pooling ?? this.defaults.pooling;
    const normalize = opts.normalize ?? this.defaults.normalize;
    const out = await this.forward(enc);
    const h = out.lastHiddenState!;
    try {
      const { data, dims } = poolHidden(
        (await h.data()) as Float32Array,
        h.shape as [number, number, number],
        enc.attentionMask,
        pooling,
        normalize,
      );
      return new Tensor(data, dims);
    } finally {
      disposeOutputs(out);
    }
  }

  /** One vector per text; `pooling` must give one ('none' does not). */
  private async vectors(texts: string[], opts: FeatureExtractionOptions): Promise<Float32Array[]> {
    return this.embedTokens(
      texts.map((t, i) => this.tokenIds(t, `texts[${i}]`)),
      opts,
    );
  }

  /**
   * One vector per text from its `tokenIds`, the texts padded together as one batch. Pooling defaults to the
   * folder's, else 'mean'; 'none' is refused (it gives token vectors, not one vector per text).
   */
  async embedTokens(ids: number[][], opts: FeatureExtractionOptions = {}): Promise<Float32Array[]> {
    const pooling = opts.pooling ?? (this.defaults.pooling === 'none' ? 'mean' : this.defaults.pooling);
    if (pooling === 'none')
      throw new BertInputError("pooling: 'none' gives token vectors, not one vector per text");
    const t = await this.embedEncoded(this.padded(ids), { ...opts, pooling });
    const H = t.dims[1]!;
    return ids.map((_, i) => t.data.slice(i * H, (i + 1) * H));
  }

  /**
   * @deprecated Call the pipeline: `await embed(texts, { pooling, normalize })` gives a Tensor.
   * One Float32Array per text; pooling defaults to the folder's, else 'mean'.
   */
  override async call(
    texts: string | string[],
    opts: FeatureExtractionOptions = {},
  ): Promise<Float32Array[]> {
    return this.vectors(Array.isArray(texts) ? texts : [texts], opts);
  }

  /**
   * Streams one vector per document, in input order, so a large corpus (an async iterable of strings, e.g.
   * lines of a file) never has to be held in memory. Documents are read `sortWindow` batches ahead (default
   * 16) and batched by token length within that window, so each batch of `batchSize` pads little; each
   * vector equals the document's own unbatched vector. Pooling as `embedTokens`.
   */
  async *stream(
    documents: Iterable<string> | AsyncIterable<string>,
    opts: FeatureExtractionOptions & { batchSize?: number; sortWindow?: number } = {},
  ): AsyncGenerator<Float32Array> {
    const tokenized = async function* (this: FeatureExtractionPipeline) {
      let i = 0;
      for await (const doc of documents) yield this.tokenIds(doc, `documents[${i++}]`);
    }.call(this);
    for await (const { results } of batchByLength(tokenized, {
      batchSize: opts.batchSize ?? 32,
      sortWindow: opts.sortWindow,
      length: (ids) => ids.length,
      run: (batch) => this.embedTokens(batch, opts),
    }))
      yield* results;
  }
}

/**
 * A ready-to-call task on a model folder or hub id, in transformers.js' shape:
 * `const classify = await pipeline('text-classification', model, { device }); await classify(text)`.
 * The device starts itself (no `initBackend` needed); `pipe.device` says which engine runs. A checkpoint
 * without the task's head is a MissingWeightsError unless `allowRandomHead`. Call `dispose()` when done.
 */
export async function pipeline(
  task: 'fill-mask',
  model: string,
  opts?: PipelineOptions,
): Promise<FillMaskPipeline>;
export async function pipeline(
  task: 'text-classification',
  model: string,
  opts?: PipelineOptions,
): Promise<TextClassificationPipeline>;
export async function pipeline(
  task: 'feature-extraction',
  model: string,
  opts?: PipelineOptions,
): Promise<FeatureExtractionPipeline>;
export async function pipeline(task: PipelineTask, model: string, opts: PipelineOptions = {}) {
  if (!['fill-mask', 'text-classification', 'feature-extraction'].includes(task))
    throw new BertInputError(
      `pipeline: unknown task "${task}" (fill-mask, text-classification, feature-extraction)`,
    );
  const ctx = await preparePipeline(
    task,
    model,
    { ...opts, device: await deviceOf(opts) },
    resolvePretrainedDir,
  );
  const st = task === 'feature-extraction' ? await readSentenceTransformersConfig(ctx.dir) : undefined;
  const dir = st?.modelDir ?? ctx.dir;
  // In a page the files are fetched and kept in the Cache API, as the weights are.
  const tokenizer = await BertTokenizer.fromPretrained(dir, { fetch: cachedFetch(ctx.hub) });
  const loadOpts: LoadOptions = { ...ctx.hub, ...(opts.config && { config: opts.config }) };
  const maxLength = opts.maxLength ?? st?.maxLength;
  /**
   * On the native device the weights go from the file to onnxruntime; the pipeline's `model` is then built
   * deferred (config and names, no weights). `optional` names the weights the task never reads.
   */
  const load = async <M extends BertPreTrainedModel>(
    architecture: BertArchitecture & (new (config: BertConfig) => M),
    optional?: RegExp,
  ): Promise<[M, BertOnnxRuntime?]> => {
    let info: LoadingInfo = { missing: [], unexpected: [] };
    const onLoadingInfo = (i: LoadingInfo) => {
      info = i;
      opts.onLoadingInfo?.(i);
    };
    let m: M;
    let onnx: BertOnnxRuntime | undefined;
    if (ctx.device.engine === 'tfjs')
      m = (await architecture.fromPretrained(dir, { ...loadOpts, onLoadingInfo })) as M;
    else {
      onnx = await BertOnnxRuntime.fromPretrained(dir, architecture, {
        ...loadOpts,
        onLoadingInfo,
        ...(opts.threads && { threads: opts.threads }),
        dtype: ctx.dtype,
      });
      m = withDeferredInit(() => new architecture(onnx!.config) as M);
    }
    try {
      checkHeadWeights(task, dir, info.missing, { allowRandomHead: opts.allowRandomHead, optional });
    } catch (e) {
      m.dispose();
      await onnx?.dispose();
      throw e;
    }
    ctx.progress.ready(task);
    return [m, onnx];
  };
  switch (task) {
    case 'fill-mask': {
      const [m, onnx] = await load(BertForMaskedLM, /^bert\.pooler\./);
      return new FillMaskPipeline(tokenizer, m, maxLength, onnx, ctx.device);
    }
    case 'text-classification': {
      const [m, onnx] = await load(BertForSequenceClassification);
      return new TextClassificationPipeline(tokenizer, m, maxLength, onnx, ctx.device);
    }
    case 'feature-extraction': {
      const [m, onnx] = await load(BertModel, /^pooler\./);
      const pipe = new FeatureExtractionPipeline(tokenizer, m, maxLength, onnx, ctx.device);
      if (st) pipe.defaults = { pooling: st.pooling, normalize: st.normalize };
      return pipe;
    }
  }
}

function disposeOutputs(out: ModelOutputs): void {
  for (const t of Object.values(out)) tf.dispose(t as tf.Tensor | tf.Tensor[]);
}
