import { resolvePretrainedDir, tf, withDeferredInit } from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import { BertModel } from './bert-model.js';
import type { LoadOptions } from './checkpoint.js';
import { BertForSequenceClassification } from './classification.js';
import { type BertConfig, numLabels } from './config.js';
import { BertInputError } from './errors.js';
import { type BertArchitecture, type BertOnnxOutputs, BertOnnxRuntime } from './export/onnx-runtime.js';
import type { BertInputs } from './inputs.js';
import type { BertPreTrainedModel } from './pretrained.js';
import { BertForMaskedLM, type BertForPreTraining } from './pretraining.js';

export type PipelineTask = 'fill-mask' | 'text-classification' | 'feature-extraction';

export interface PipelineOptions extends LoadOptions {
  /** Longest input in tokens; longer texts are truncated. Default: the model's max_position_embeddings. */
  maxLength?: number;
  /**
   * 'tfjs' (default): the model runs on the active tfjs backend. 'onnx': the weights are compiled to ONNX
   * at load and run by onnxruntime-node (install it; Node only, inference only): same outputs, native speed.
   */
  runtime?: 'tfjs' | 'onnx';
  /** Threads for the 'onnx' runtime (default: every core). */
  threads?: number;
}

type Encoded = { inputIds: number[][]; attentionMask: number[][]; tokenTypeIds: number[][] };
type ModelOutputs = BertOnnxOutputs & { attentions?: tf.Tensor4D[]; hiddenStates?: tf.Tensor3D[] };

/** Shared by the pipelines: the tokenizer, the model, and batch encoding with truncation and padding. */
abstract class TextPipeline<M extends BertPreTrainedModel & { forward(inputs: BertInputs): unknown }> {
  readonly maxLength: number;
  /**
   * With `runtime: 'onnx'`, `onnx` runs the model and `model` keeps only its config (its tfjs weights are freed).
   */
  constructor(
    readonly tokenizer: BertTokenizer,
    readonly model: M,
    maxLength?: number,
    readonly onnx?: BertOnnxRuntime,
  ) {
    this.maxLength = Math.min(maxLength ?? Number.POSITIVE_INFINITY, model.config.max_position_embeddings);
  }

  /** The model's outputs on either runtime; the caller disposes them. */
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

  dispose(): void {
    this.model.dispose();
    void this.onnx?.dispose();
  }
}

export interface FillMaskPrediction {
  score: number;
  token: number;
  tokenStr: string;
  /** The text with this prediction in place of the mask. */
  sequence: string;
}

/** Predicts the tokens behind [MASK]: for each mask, the topK candidates by probability (HF "fill-mask"). */
export class FillMaskPipeline extends TextPipeline<BertForMaskedLM | BertForPreTraining> {
  /** One list per mask of the text (a text with one mask gives one list). */
  async call(text: string, opts: { topK?: number } = {}): Promise<FillMaskPrediction[][]> {
    const topK = opts.topK ?? 5;
    const enc = this.encode([text]);
    const ids = enc.inputIds[0]!;
    const maskId = this.tokenizer.maskTokenId;
    const positions = ids.flatMap((id, i) => (id === maskId ? [i] : []));
    if (positions.length === 0)
      throw new BertInputError(`fill-mask: the text has no ${this.tokenizer.maskToken} token`);
    const out = await this.forward(enc);
    const { values, indices } = tf.tidy(() => {
      // tfjs heads name MLM scores predictionLogits; HF's MaskedLM (so its ONNX export) names them logits
      const scores = out.predictionLogits ?? out.logits!;
      const rows = tf.gather(tf.squeeze(scores, [0]), positions); // [masks, V]
      return tf.topk(tf.softmax(rows), topK);
    });
    disposeOutputs(out);
    const scores = (await values.array()) as number[][];
    const tokens = (await indices.array()) as number[][];
    tf.dispose([values, indices]);
    return positions.map((pos, m) =>
      tokens[m]!.map((token, k) => {
        const filled = [...ids];
        filled[pos] = token;
        return {
          score: scores[m]![k]!,
          token,
          tokenStr: this.tokenizer.decode([token]),
          sequence: this.tokenizer.decode(filled, { skipSpecialTokens: true }),
        };
      }),
    );
  }
}

export interface ClassificationResult {
  label: string;
  score: number;
}

/** Sequence classification (HF "text-classification"): labels with scores, best first. */
export class TextClassificationPipeline extends TextPipeline<BertForSequenceClassification> {
  /** One list per text, `topK` labels each (default 1; `topK: null` for all). */
  async call(texts: string | string[], opts: { topK?: number | null; textPair?: string | string[] } = {}) {
    const list = Array.isArray(texts) ? texts : [texts];
    const pairs =
      opts.textPair === undefined
        ? undefined
        : Array.isArray(opts.textPair)
          ? opts.textPair
          : [opts.textPair];
    const out = await this.forward(this.encode(list, pairs));
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
    const k = opts.topK === null ? Number.POSITIVE_INFINITY : (opts.topK ?? 1);
    const id2label = this.model.config.id2label;
    return rows.map((row) =>
      row
        .map((score, i) => ({ label: id2label[String(i)] ?? `LABEL_${i}`, score }))
        .sort((a, b) => b.score - a.score)
        .slice(0, k),
    );
  }
}

export interface FeatureExtractionOptions {
  /** 'cls': the [CLS] vector; 'mean': the mean over real tokens (attention-mask aware). Default 'mean'. */
  pooling?: 'cls' | 'mean';
  /** L2-normalise each vector (for cosine similarity). Default false. */
  normalize?: boolean;
}

/** Sentence vectors from the encoder's last hidden state (HF "feature-extraction" + pooling). */
export class FeatureExtractionPipeline extends TextPipeline<BertModel> {
  /** One vector per text. */
  async call(texts: string | string[], opts: FeatureExtractionOptions = {}): Promise<Float32Array[]> {
    const list = Array.isArray(texts) ? texts : [texts];
    const enc = this.encode(list);
    const out = await this.forward(enc);
    const pooled = tf.tidy(() => this.pool(out.lastHiddenState!, enc, opts));
    disposeOutputs(out);
    const data = (await pooled.data()) as Float32Array;
    pooled.dispose();
    const H = this.model.config.hidden_size;
    return list.map((_, i) => data.slice(i * H, (i + 1) * H));
  }

  /**
   * Streams vectors for any number of documents, `batchSize` at a time, in input order, so a large
   * corpus (an async iterable of strings, e.g. lines of a file) never has to be held in memory.
   */
  async *stream(
    documents: Iterable<string> | AsyncIterable<string>,
    opts: FeatureExtractionOptions & { batchSize?: number } = {},
  ): AsyncGenerator<Float32Array> {
    const batchSize = opts.batchSize ?? 32;
    let batch: string[] = [];
    for await (const doc of documents) {
      batch.push(doc);
      if (batch.length === batchSize) {
        yield* await this.call(batch, opts);
        batch = [];
      }
    }
    if (batch.length) yield* await this.call(batch, opts);
  }

  /** [b, H] pooled (and optionally normalised) vectors. */
  private pool(lastHiddenState: tf.Tensor3D, enc: Encoded, opts: FeatureExtractionOptions): tf.Tensor2D {
    // lastHiddenState: [b, t, H]
    let v: tf.Tensor2D;
    if (opts.pooling === 'cls') {
      const [b, , H] = lastHiddenState.shape;
      v = tf.reshape(tf.slice(lastHiddenState, [0, 0, 0], [b, 1, H]), [b, H]);
    } else {
      const mask = tf.expandDims(tf.tensor2d(enc.attentionMask, undefined, 'float32'), -1); // [b, t, 1]
      v = tf.div(tf.sum(tf.mul(lastHiddenState, mask), 1), tf.maximum(tf.sum(mask, 1), 1e-9));
    }
    if (!opts.normalize) return v;
    return tf.div(v, tf.maximum(tf.norm(v, 'euclidean', -1, true), 1e-12)) as tf.Tensor2D;
  }
}

/**
 * A ready-to-call task on a model folder or hub id: tokenizer (vocab.txt + tokenizer_config.json) and
 * model load together. Texts longer than the model accepts are truncated. Call `dispose()` when done.
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
  const dir = await resolvePretrainedDir(model, opts);
  const tokenizer = await BertTokenizer.fromPretrained(dir);
  const runtime = opts.runtime ?? 'tfjs';
  if (runtime !== 'tfjs' && runtime !== 'onnx')
    throw new BertInputError(`pipeline: unknown runtime "${runtime}" (tfjs, onnx)`);
  /**
   * With the onnx runtime the weights go from the file to onnxruntime; the pipeline's `model` is then built
   * deferred (config and names, no weights).
   */
  const load = async <M extends BertPreTrainedModel>(
    architecture: BertArchitecture & (new (config: BertConfig) => M),
  ): Promise<[M, BertOnnxRuntime?]> => {
    if (runtime === 'tfjs') return [(await architecture.fromPretrained(dir, opts)) as M];
    const onnx = await BertOnnxRuntime.fromPretrained(dir, architecture, opts);
    return [withDeferredInit(() => new architecture(onnx.config) as M), onnx];
  };
  switch (task) {
    case 'fill-mask': {
      const [m, onnx] = await load(BertForMaskedLM);
      return new FillMaskPipeline(tokenizer, m, opts.maxLength, onnx);
    }
    case 'text-classification': {
      const [m, onnx] = await load(BertForSequenceClassification);
      return new TextClassificationPipeline(tokenizer, m, opts.maxLength, onnx);
    }
    case 'feature-extraction': {
      const [m, onnx] = await load(BertModel);
      return new FeatureExtractionPipeline(tokenizer, m, opts.maxLength, onnx);
    }
    default:
      throw new BertInputError(
        `pipeline: unknown task "${task}" (fill-mask, text-classification, feature-extraction)`,
      );
  }
}

function disposeOutputs(out: ModelOutputs): void {
  for (const t of Object.values(out)) tf.dispose(t as tf.Tensor | tf.Tensor[]);
}
