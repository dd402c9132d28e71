/**
 * ViT → ONNX (opset 17): `pixel_values` float32 [batch, channels, image_size, image_size] → `logits`
 * (ViTForImageClassification) or `last_hidden_state` (+ `pooler_output`) (ViTModel), as transformers.js and
 * Optimum name them. The batch axis is dynamic; the image size is the config's (position embeddings are
 * not interpolated inside the graph). The graph is the model itself: each module's `toOnnx`, beside its
 * `forward`, emits its nodes; a weight the graph does not read is an error, not a silent omission.
 */
import { type tf, toModelNames, withDeferredInit } from '@attn/core-tensor';
import { ViTConfig } from '../config.js';
import { VIT_LAYOUT, ViTForImageClassification, ViTModel } from '../model.js';
import { type OnnxExportResult, OnnxModuleGraph, OnnxWeights, writeOnnxFile } from './onnx-core.js';

export type { OnnxExportResult };

export type ViTOnnxTask = 'base' | 'image-classification';

export interface ViTOnnxOptions {
  task?: ViTOnnxTask;
  /**
   * 'q8': int8 per-channel Linear weights with dynamic activation quantisation (transformers.js' q8); 'fp16':
   * float16 weights cast to float32 in the graph (half the file, float32 inputs, outputs and compute).
   */
  dtype?: 'fp32' | 'fp16' | 'q8';
}

export interface ExportableViT {
  config: object;
  stateDict(): Map<string, tf.Tensor>;
}

/** The graph of `model` (weights read from `ws` under the model's own names). */
function graphOf(
  model: ViTModel | ViTForImageClassification,
  ws: OnnxWeights,
  task: ViTOnnxTask,
  dtype: ViTOnnxOptions['dtype'] = 'fp32',
) {
  const { num_channels: c, image_size: size } = model.config.fields;
  const g = new OnnxModuleGraph(`vit-${task}`, model, ws, { dtype });
  g.declareOutputs(model.toOnnx(g, g.input('pixel_values', 'float32', ['batch', c, size, size])));
  g.checkAllRead(task);
  return g;
}

/**
 * The graph of the `task` model built from `config` (HF fields) with the weights in `ws` (HF names, `vit.`
 * prefix or not, as a checkpoint has them). The model is built without initialising any weight.
 */
export function buildViTOnnx(
  config: object,
  ws: OnnxWeights,
  task?: ViTOnnxTask,
  dtype?: ViTOnnxOptions['dtype'],
): OnnxModuleGraph {
  const chosen = task ?? (ws.has('classifier.weight') ? 'image-classification' : 'base');
  const c =
    config instanceof ViTConfig ? config : ViTConfig.from(config as Record<string, unknown>, 'config');
  const hasPooler = ws.has('pooler.dense.weight') || ws.has('vit.pooler.dense.weight');
  const model = withDeferredInit(() =>
    chosen === 'base' ? new ViTModel(c, { addPoolingLayer: hasPooler }) : new ViTForImageClassification(c),
  );
  try {
    const basePrefix = chosen === 'base' ? '' : VIT_LAYOUT.prefix;
    const named = ws.renamed((m) => toModelNames(m, VIT_LAYOUT, basePrefix));
    // HF's classifier reads the CLS token of the normed output, never a pooler the checkpoint may have.
    if (chosen === 'image-classification') named.ignore('vit.pooler.');
    return graphOf(model, named, chosen, dtype);
  } finally {
    model.dispose(); // the parameters built eagerly (the patch projection); the graph holds host arrays
  }
}

/** Writes `model` as an ONNX file at `path` (atomically), opset 17, dynamic batch axis. */
export function exportOnnx(model: ExportableViT, path: string, opts: ViTOnnxOptions = {}): OnnxExportResult {
  const { graph, task, inputs, outputs } = encodeViTOnnx(model, opts);
  return { path, bytes: writeOnnxFile(path, graph), task, inputs, outputs };
}

/**
 * The encoded ONNX model (opset 17, dynamic batch axis), in memory. One of our models is walked as it is,
 * each weight downloaded once as the graph reads it; anything else is rebuilt from its config and state dict.
 */
export function encodeViTOnnx(model: ExportableViT, opts: ViTOnnxOptions = {}) {
  const own =
    model instanceof ViTModel
      ? 'base'
      : model instanceof ViTForImageClassification
        ? 'image-classification'
        : undefined;
  if (own && (opts.task ?? own) === own) {
    const walked = model as ViTModel | ViTForImageClassification;
    return encoded(graphOf(walked, OnnxWeights.fromModule(walked), own, opts.dtype));
  }
  const stateDict = model.stateDict();
  try {
    return encodeViTOnnxWeights(model.config, OnnxWeights.fromStateDict(stateDict), opts.task, opts.dtype);
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/** The same, from weights already in host memory (HF names and layout). */
export function encodeViTOnnxWeights(
  config: ExportableViT['config'],
  ws: OnnxWeights,
  task?: ViTOnnxTask,
  dtype?: ViTOnnxOptions['dtype'],
) {
  return encoded(buildViTOnnx(config, ws, task, dtype));
}

function encoded(g: OnnxModuleGraph) {
  const graph = g.encode({ producerName: 'attn', docString: 'ViT exported by @attn/vit' });
  return { graph, task: g.name.slice('vit-'.length), inputs: g.inputNames, outputs: g.outputNames };
}
