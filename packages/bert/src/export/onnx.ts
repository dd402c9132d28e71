/**
 * BERT → ONNX (opset 17), with the inputs and outputs transformers.js and Optimum use:
 * input_ids / attention_mask / token_type_ids, int64 [batch, sequence]; outputs named as HF's ModelOutput
 * fields (last_hidden_state, pooler_output, logits, prediction_logits, …). The graph is the model itself:
 * the exporter declares the inputs and asks the model for its nodes (`toOnnx`, written beside each module's
 * `forward`); a weight the graph does not read is an error, not a silent omission.
 */
import { type tf, withDeferredInit } from '@attn/core-tensor';
import { BertModel, type BertOnnxInputs } from '../bert-model.js';
import {
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
} from '../classification.js';
import { type BertConfig, parseBertConfig } from '../config.js';
import type { BertPreTrainedModel } from '../pretrained.js';
import { BertForMaskedLM, BertForNextSentencePrediction, BertForPreTraining } from '../pretraining.js';
import {
  type OnnxExportResult,
  OnnxModuleGraph,
  type OnnxOutput,
  OnnxWeights,
  writeOnnxFile,
} from './onnx-core.js';

export type { OnnxExportResult };

export type BertOnnxTask =
  | 'base'
  | 'pretraining'
  | 'masked-lm'
  | 'next-sentence'
  | 'sequence-classification'
  | 'token-classification'
  | 'question-answering';

/** A BERT model that renders itself to ONNX: every task model of this package. */
type OnnxBert = BertPreTrainedModel & {
  toOnnx(g: OnnxModuleGraph, inputs: BertOnnxInputs): Record<string, OnnxOutput | undefined>;
};

const CLASS_OF_TASK: Record<BertOnnxTask, (new (config: BertConfig) => OnnxBert) & { architecture: string }> =
  {
    base: BertModel,
    pretraining: BertForPreTraining,
    'masked-lm': BertForMaskedLM,
    'next-sentence': BertForNextSentencePrediction,
    'sequence-classification': BertForSequenceClassification,
    'token-classification': BertForTokenClassification,
    'question-answering': BertForQuestionAnswering,
  };

/** What the exporter needs from a model: its config (HF field names) and state dict. */
export interface ExportableBert {
  config: object;
  stateDict(): Map<string, tf.Tensor>;
}

export interface BertOnnxOptions {
  /** Which head to export; by default inferred from the model's class, else from its weight names. */
  task?: BertOnnxTask;
  /**
   * 'q8': int8 per-channel Linear weights with dynamic activation quantisation (transformers.js' q8); 'fp16':
   * float16 weights cast to float32 in the graph (half the file, float32 inputs, outputs and compute).
   */
  dtype?: OnnxGraphDType;
}

type OnnxGraphDType = 'fp32' | 'fp16' | 'q8';

/** Infers the head from weight names when the model is not one of our classes. */
function taskFromWeights(ws: OnnxWeights): BertOnnxTask {
  const mlm = ws.has('cls.predictions.transform.dense.weight');
  const nsp = ws.has('cls.seq_relationship.weight');
  if (mlm && nsp) return 'pretraining';
  if (mlm) return 'masked-lm';
  if (nsp) return 'next-sentence';
  if (ws.has('qa_outputs.weight')) return 'question-answering';
  if (ws.has('classifier.weight')) return 'sequence-classification';
  return 'base';
}

/** The head of one of our classes or a subclass (by its static `architecture`, which survives minification). */
function taskOfClass(model: object): BertOnnxTask | undefined {
  const cls = model.constructor as { architecture?: string };
  const found = Object.entries(CLASS_OF_TASK).find(([, c]) => c.architecture === cls.architecture);
  return found?.[0] as BertOnnxTask | undefined;
}

/** The head a model has: from its class, else from its weight names. */
export function bertOnnxTask(model: object, ws: OnnxWeights): BertOnnxTask {
  return taskOfClass(model) ?? taskFromWeights(ws);
}

/** The graph of `model` (weights read from `ws` under the model's own names). */
function graphOf(
  model: OnnxBert,
  ws: OnnxWeights,
  task: BertOnnxTask,
  dtype: OnnxGraphDType = 'fp32',
): OnnxModuleGraph {
  const g = new OnnxModuleGraph(`bert-${task}`, model, ws, { dtype });
  const inputs: BertOnnxInputs = {
    inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']),
    attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']),
    tokenTypeIds: g.input('token_type_ids', 'int64', ['batch', 'sequence']),
  };
  g.declareOutputs(model.toOnnx(g, inputs));
  g.checkAllRead(task);
  return g;
}

/**
 * The graph of the `task` model built from `config` (HF fields) with the weights in `ws` (HF names, `bert.`
 * prefix or not, as a checkpoint has them). The model is built without initialising any weight.
 */
export function buildBertOnnx(
  config: object,
  ws: OnnxWeights,
  task: BertOnnxTask = taskFromWeights(ws),
  dtype: OnnxGraphDType = 'fp32',
): OnnxModuleGraph {
  const c = parseBertConfig(config, 'config');
  const hasPooler = ws.has('pooler.dense.weight') || ws.has('bert.pooler.dense.weight');
  const model = withDeferredInit(() =>
    task === 'base' ? new BertModel(c, { addPoolingLayer: hasPooler }) : new CLASS_OF_TASK[task](c),
  );
  try {
    const named = ws.renamed((m) => model.checkpointNames(m));
    // As HF: a head without a pooler leaves a checkpoint's pooler unused, on purpose.
    const base = model instanceof BertModel ? model : (model as unknown as { bert: BertModel }).bert;
    if (!base.pooler) named.ignore(base === model ? 'pooler.' : 'bert.pooler.');
    return graphOf(model, named, task, dtype);
  } finally {
    model.dispose(); // the few parameters built eagerly (e.g. the MLM bias); the graph holds host arrays
  }
}

/**
 * Writes `model` as an ONNX file at `path` (atomically). Opset 17, dynamic `batch` and `sequence` axes.
 * Ready for onnxruntime and for transformers.js (put it at `<folder>/onnx/model.onnx` beside config.json
 * and tokenizer.json; see `writeTransformersJsFolder`).
 */
export function exportOnnx(
  model: ExportableBert,
  path: string,
  opts: BertOnnxOptions = {},
): OnnxExportResult {
  const { graph, task, inputs, outputs } = encodeBertOnnx(model, opts);
  return { path, bytes: writeOnnxFile(path, graph), task, inputs, outputs };
}

/**
 * The encoded ONNX model (opset 17, dynamic axes) of `model`'s head, in memory. One of our models is walked
 * as it is, each weight downloaded once as the graph reads it; anything else is rebuilt from its config
 * and state dict.
 */
export function encodeBertOnnx(model: ExportableBert, opts: BertOnnxOptions = {}) {
  const own = taskOfClass(model);
  if (own && (opts.task ?? own) === own)
    return encoded(
      graphOf(model as OnnxBert, OnnxWeights.fromModule(model as OnnxBert), own, opts.dtype),
      own,
    );
  const stateDict = model.stateDict();
  try {
    const ws = OnnxWeights.fromStateDict(stateDict);
    return encodeBertOnnxWeights(model.config, ws, opts.task ?? bertOnnxTask(model, ws), opts.dtype);
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/** The same, from weights already in host memory (HF names and layout). */
export function encodeBertOnnxWeights(
  config: object,
  ws: OnnxWeights,
  task: BertOnnxTask,
  dtype: OnnxGraphDType = 'fp32',
) {
  return encoded(buildBertOnnx(config, ws, task, dtype), task);
}

function encoded(g: OnnxModuleGraph, task: BertOnnxTask) {
  const graph = g.encode({ producerName: 'attn', docString: `BERT (${task}) exported by @attn/bert` });
  return { graph, task, inputs: g.inputNames, outputs: g.outputNames };
}
