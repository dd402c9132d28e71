/**
 * BERT → ONNX (opset 17), with the inputs and outputs transformers.js and Optimum use:
 * input_ids / attention_mask / token_type_ids, int64 [batch, sequence]; outputs named as HF's ModelOutput
 * fields (last_hidden_state, pooler_output, logits, prediction_logits, …). Weights come from the model's
 * state dict, by their HF names; a weight the graph does not read is an error, not a silent omission.
 */
import type { tf } from '@attn/core-tensor';
import type { OnnxExportResult } from './onnx-core.js';
import {
  configField,
  OnnxGraph,
  OnnxGraphError,
  OnnxWeights,
  onnxActivation,
  onnxFirstToken,
  onnxLayerNorm,
  onnxLinear,
  onnxPaddingMask,
  onnxSelfAttention,
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

const TASK_OF_CLASS: Record<string, BertOnnxTask> = {
  BertModel: 'base',
  BertForPreTraining: 'pretraining',
  BertForMaskedLM: 'masked-lm',
  BertForNextSentencePrediction: 'next-sentence',
  BertForSequenceClassification: 'sequence-classification',
  BertForTokenClassification: 'token-classification',
  BertForQuestionAnswering: 'question-answering',
};

/** What the exporter needs from a model: its config (HF field names, snake or camel case) and state dict. */
export interface ExportableBert {
  config: object;
  stateDict(): Map<string, tf.Tensor>;
}

export interface BertOnnxOptions {
  /** Which head to export; by default inferred from the model's class, else from its weight names. */
  task?: BertOnnxTask;
}

interface BertDims {
  hiddenSize: number;
  numHeads: number;
  numLayers: number;
  eps: number;
  act: string;
}

function bertDims(config: object, ws: OnnxWeights, p: string): BertDims {
  let numLayers = 0;
  while (ws.has(`${p}encoder.layer.${numLayers}.attention.self.query.weight`)) numLayers++;
  return {
    hiddenSize: configField<number>(config, 'hidden_size'),
    numHeads: configField<number>(config, 'num_attention_heads'),
    numLayers: configField<number>(config, 'num_hidden_layers', numLayers),
    eps: configField<number>(config, 'layer_norm_eps', 1e-12),
    act: configField<string>(config, 'hidden_act', 'gelu'),
  };
}

/** Infers the head from weight names when the class name is unknown (e.g. minified code). */
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

/** Builds the graph. `ws` holds the HF state dict (`bert.`-prefixed for the heads, bare for BertModel). */
export function buildBertOnnx(
  config: object,
  ws: OnnxWeights,
  task: BertOnnxTask = taskFromWeights(ws),
): OnnxGraph {
  const p = ws.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
  const d = bertDims(config, ws, p);
  const g = new OnnxGraph(`bert-${task}`);
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const attention = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const types = g.input('token_type_ids', 'int64', ['batch', 'sequence']);

  // Embeddings: word + token type + position (arange(seq)), then LayerNorm.  → [b, s, H]
  const wordEmb = ws.add(g, `${p}embeddings.word_embeddings.weight`);
  const seqLen = g.node('Gather', [g.node('Shape', [ids]), g.constInt64([1], [])], { axis: 0 });
  const positions = g.node('Range', [g.constInt64([0], []), seqLen, g.constInt64([1], [])]); // [s]
  let h = g.node('Add', [
    g.node('Gather', [wordEmb, ids], { axis: 0 }),
    g.node('Gather', [ws.add(g, `${p}embeddings.token_type_embeddings.weight`), types], { axis: 0 }),
  ]);
  h = g.node('Add', [
    h,
    g.node('Gather', [ws.add(g, `${p}embeddings.position_embeddings.weight`), positions], { axis: 0 }),
  ]);
  h = onnxLayerNorm(g, ws, h, `${p}embeddings.LayerNorm`, d.eps);

  // Encoder: post-LN layers.
  const mask = onnxPaddingMask(g, attention); // [b, 1, 1, s]
  for (let i = 0; i < d.numLayers; i++) {
    const l = `${p}encoder.layer.${i}`;
    const names = {
      query: `${l}.attention.self.query`,
      key: `${l}.attention.self.key`,
      value: `${l}.attention.self.value`,
    };
    const ctx = onnxSelfAttention(g, ws, h, names, d.numHeads, d.hiddenSize, mask);
    const attnOut = onnxLinear(g, ws, ctx, `${l}.attention.output.dense`);
    h = onnxLayerNorm(g, ws, g.node('Add', [attnOut, h]), `${l}.attention.output.LayerNorm`, d.eps);
    const inter = onnxActivation(g, onnxLinear(g, ws, h, `${l}.intermediate.dense`), d.act);
    h = onnxLayerNorm(
      g,
      ws,
      g.node('Add', [onnxLinear(g, ws, inter, `${l}.output.dense`), h]),
      `${l}.output.LayerNorm`,
      d.eps,
    );
  }
  const H = d.hiddenSize;
  const pooled = () => g.node('Tanh', [onnxLinear(g, ws, onnxFirstToken(g, h), `${p}pooler.dense`)]); // [b, H]
  const withoutPooler = () => ws.ignore(`${p}pooler.`);

  // MLM head: dense → act → LayerNorm → decoder tied to the word embeddings (transposed once, by the runtime's
  // constant folding, so the 30522×H matrix is stored once).
  const mlmLogits = () => {
    const t = onnxActivation(g, onnxLinear(g, ws, h, 'cls.predictions.transform.dense'), d.act);
    const n = onnxLayerNorm(g, ws, t, 'cls.predictions.transform.LayerNorm', d.eps);
    const decoderW = ws.has('cls.predictions.decoder.weight')
      ? ws.add(g, 'cls.predictions.decoder.weight')
      : wordEmb;
    const bias = ws.has('cls.predictions.decoder.bias')
      ? 'cls.predictions.decoder.bias'
      : 'cls.predictions.bias';
    if (bias === 'cls.predictions.decoder.bias') ws.ignore('cls.predictions.bias');
    const logits = g.node('MatMul', [n, g.node('Transpose', [decoderW], { perm: [1, 0] })]);
    return g.node('Add', [logits, ws.add(g, bias)]); // [b, s, V]
  };
  const vocab = ws.get(`${p}embeddings.word_embeddings.weight`).shape[0];
  const labels = (name: string) => ws.get(`${name}.weight`).shape[0];

  switch (task) {
    case 'base':
      g.output('last_hidden_state', h, 'float32', ['batch', 'sequence', H]);
      if (ws.has(`${p}pooler.dense.weight`)) g.output('pooler_output', pooled(), 'float32', ['batch', H]);
      break;
    case 'pretraining':
      g.output('prediction_logits', mlmLogits(), 'float32', ['batch', 'sequence', vocab]);
      g.output('seq_relationship_logits', onnxLinear(g, ws, pooled(), 'cls.seq_relationship'), 'float32', [
        'batch',
        2,
      ]);
      break;
    case 'masked-lm':
      withoutPooler();
      g.output('logits', mlmLogits(), 'float32', ['batch', 'sequence', vocab]);
      break;
    case 'next-sentence':
      g.output('logits', onnxLinear(g, ws, pooled(), 'cls.seq_relationship'), 'float32', ['batch', 2]);
      break;
    case 'sequence-classification':
      g.output('logits', onnxLinear(g, ws, pooled(), 'classifier'), 'float32', [
        'batch',
        labels('classifier'),
      ]);
      break;
    case 'token-classification':
      withoutPooler();
      g.output('logits', onnxLinear(g, ws, h, 'classifier'), 'float32', [
        'batch',
        'sequence',
        labels('classifier'),
      ]);
      break;
    case 'question-answering': {
      withoutPooler();
      const [start, end] = g.nodeN(
        'Split',
        [onnxLinear(g, ws, h, 'qa_outputs'), g.constInt64([1, 1])],
        { axis: -1 },
        2,
      );
      const squeeze = (x: string) => g.node('Squeeze', [x, g.constInt64([-1])]);
      g.output('start_logits', squeeze(start), 'float32', ['batch', 'sequence']);
      g.output('end_logits', squeeze(end), 'float32', ['batch', 'sequence']);
      break;
    }
  }
  const unused = ws.unused();
  if (unused.length)
    throw new OnnxGraphError(
      `export of task "${task}" would drop weights: ${unused.join(', ')} (wrong task for this model?)`,
    );
  return g;
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

/** The encoded ONNX model (opset 17, dynamic axes) of `model`'s head, in memory. */
export function encodeBertOnnx(model: ExportableBert, opts: BertOnnxOptions = {}) {
  const stateDict = model.stateDict();
  try {
    const ws = OnnxWeights.fromStateDict(stateDict);
    return encodeBertOnnxWeights(model.config, ws, opts.task ?? bertOnnxTask(model, ws));
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/** The same, from weights already in host memory (HF names and layout). */
export function encodeBertOnnxWeights(config: object, ws: OnnxWeights, task: BertOnnxTask) {
  const g = buildBertOnnx(config, ws, task);
  const graph = g.encode({ producerName: 'attn', docString: `BERT (${task}) exported by @attn/bert` });
  return { graph, task, inputs: g.inputNames, outputs: g.outputNames };
}

/** The head a model has: from its class, else from its weight names. */
export function bertOnnxTask(model: object, ws: OnnxWeights): BertOnnxTask {
  return TASK_OF_CLASS[model.constructor.name] ?? taskFromWeights(ws);
}
