/**
 * ViT → ONNX (opset 17): `pixel_values` float32 [batch, channels, image_size, image_size] → `logits`
 * (ViTForImageClassification) or `last_hidden_state` (+ `pooler_output`) (ViTModel), as transformers.js and
 * Optimum name them. The batch axis is dynamic; the image size is the config's (position embeddings are
 * not interpolated inside the graph). Weights come from the state dict by their HF names.
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
  onnxSelfAttention,
  writeOnnxFile,
} from './onnx-core.js';

export type { OnnxExportResult };

export type ViTOnnxTask = 'base' | 'image-classification';

export interface ExportableViT {
  config: object;
  stateDict(): Map<string, tf.Tensor>;
}

export function buildViTOnnx(config: object, ws: OnnxWeights, task?: ViTOnnxTask): OnnxGraph {
  const chosen = task ?? (ws.has('classifier.weight') ? 'image-classification' : 'base');
  const p = ws.has('vit.embeddings.cls_token') ? 'vit.' : '';
  const H = configField<number>(config, 'hidden_size');
  const heads = configField<number>(config, 'num_attention_heads');
  const eps = configField<number>(config, 'layer_norm_eps', 1e-12);
  const act = configField<string>(config, 'hidden_act', 'gelu');
  const size = configField<number>(config, 'image_size');
  const patch = configField<number>(config, 'patch_size');
  const channels = configField<number>(config, 'num_channels', 3);
  let layers = 0;
  while (ws.has(`${p}encoder.layer.${layers}.attention.attention.query.weight`)) layers++;
  if (size % patch) throw new OnnxGraphError(`image_size ${size} is not a multiple of patch_size ${patch}`);

  const g = new OnnxGraph(`vit-${chosen}`);
  const pixels = g.input('pixel_values', 'float32', ['batch', channels, size, size]);

  // Patch embedding: a conv with kernel = stride = patch  → [b, H, g, g] → [b, N, H]
  const conv = g.node(
    'Conv',
    [
      pixels,
      ws.add(g, `${p}embeddings.patch_embeddings.projection.weight`),
      ws.add(g, `${p}embeddings.patch_embeddings.projection.bias`),
    ],
    { kernel_shape: [patch, patch], strides: [patch, patch] },
  );
  const patches = g.node('Transpose', [g.node('Reshape', [conv, g.constInt64([0, 0, -1])])], {
    perm: [0, 2, 1],
  });
  // [CLS] token broadcast over the batch: Expand(cls [1, 1, H], [b, 1, H]).
  const batch = g.node('Gather', [g.node('Shape', [pixels]), g.constInt64([0])], { axis: 0 }); // [1]
  const clsShape = g.node('Concat', [batch, g.constInt64([1, H])], { axis: 0 });
  const cls = g.node('Expand', [ws.add(g, `${p}embeddings.cls_token`), clsShape]);
  let h = g.node('Concat', [cls, patches], { axis: 1 }); // [b, N+1, H]
  h = g.node('Add', [h, ws.add(g, `${p}embeddings.position_embeddings`)]);

  // Pre-LN encoder.
  for (let i = 0; i < layers; i++) {
    const l = `${p}encoder.layer.${i}`;
    const a = `${l}.attention.attention`;
    const normed = onnxLayerNorm(g, ws, h, `${l}.layernorm_before`, eps);
    const ctx = onnxSelfAttention(
      g,
      ws,
      normed,
      { query: `${a}.query`, key: `${a}.key`, value: `${a}.value` },
      heads,
      H,
    );
    h = g.node('Add', [onnxLinear(g, ws, ctx, `${l}.attention.output.dense`), h]);
    const inter = onnxActivation(
      g,
      onnxLinear(g, ws, onnxLayerNorm(g, ws, h, `${l}.layernorm_after`, eps), `${l}.intermediate.dense`),
      act,
    );
    h = g.node('Add', [onnxLinear(g, ws, inter, `${l}.output.dense`), h]);
  }
  h = onnxLayerNorm(g, ws, h, `${p}layernorm`, eps); // [b, N+1, H]

  if (chosen === 'image-classification') {
    ws.ignore(`${p}pooler.`); // HF's classifier reads the CLS token of the normed output, never the pooler
    const labels = ws.get('classifier.weight').shape[0];
    g.output('logits', onnxLinear(g, ws, onnxFirstToken(g, h), 'classifier'), 'float32', ['batch', labels]);
  } else {
    const tokens = (size / patch) ** 2 + 1;
    g.output('last_hidden_state', h, 'float32', ['batch', tokens, H]);
    if (ws.has(`${p}pooler.dense.weight`)) {
      const pooled = g.node('Tanh', [onnxLinear(g, ws, onnxFirstToken(g, h), `${p}pooler.dense`)]);
      g.output('pooler_output', pooled, 'float32', ['batch', H]);
    }
  }
  const unused = ws.unused();
  if (unused.length)
    throw new OnnxGraphError(
      `export of task "${chosen}" would drop weights: ${unused.join(', ')} (wrong task for this model?)`,
    );
  return g;
}

/** Writes `model` as an ONNX file at `path` (atomically), opset 17, dynamic batch axis. */
export function exportOnnx(
  model: ExportableViT,
  path: string,
  opts: { task?: ViTOnnxTask } = {},
): OnnxExportResult {
  const { graph, task, inputs, outputs } = encodeViTOnnx(model, opts);
  return { path, bytes: writeOnnxFile(path, graph), task, inputs, outputs };
}

/** The encoded ONNX model (opset 17, dynamic batch axis), in memory. */
export function encodeViTOnnx(model: ExportableViT, opts: { task?: ViTOnnxTask } = {}) {
  const stateDict = model.stateDict();
  try {
    const ws = OnnxWeights.fromStateDict(stateDict);
    return encodeViTOnnxWeights(
      model.config,
      ws,
      opts.task ?? (model.constructor.name === 'ViTModel' ? 'base' : undefined),
    );
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/** The same, from weights already in host memory (HF names and layout). */
export function encodeViTOnnxWeights(config: ExportableViT['config'], ws: OnnxWeights, task?: ViTOnnxTask) {
  const g = buildViTOnnx(config, ws, task);
  const graph = g.encode({ producerName: 'attn', docString: 'ViT exported by @attn/vit' });
  return { graph, task: g.name.slice('vit-'.length), inputs: g.inputNames, outputs: g.outputNames };
}
