/**
 * Transformer building blocks emitted as ONNX nodes (opset 17), reading weights by their Hugging Face
 * state-dict names. Shared by the BERT and ViT exporters so both emit the same attention/MLP subgraphs.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../module.js';
import { type OnnxGraph, OnnxGraphError, onnxFloat } from './graph.js';

/** HF's additive mask value: `torch.finfo(torch.float32).min`. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * Weights by HF state-dict name, as float32 host arrays. Tracks which names were used, so an exporter
 * can refuse to write a graph that silently ignores part of the checkpoint.
 */
export class OnnxWeights {
  private readonly used = new Set<string>();
  constructor(private readonly tensors: Map<string, { shape: number[]; data: Float32Array }>) {}

  /** Downloads a state dict (HF layout) to host memory. Does not dispose the tensors. */
  static fromStateDict(stateDict: Map<string, tf.Tensor>): OnnxWeights {
    const host = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of stateDict) {
      const data = t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Float32Array.from(t.dataSync());
      host.set(name, { shape: [...t.shape], data });
    }
    return new OnnxWeights(host);
  }

  /**
   * The weights of each of `module`'s parameters from a checkpoint read to host memory (names already mapped
   * onto the module's), with nothing going through tfjs; null when the checkpoint lacks any of them.
   */
  static forModule(
    module: Module,
    checkpoint: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
  ): OnnxWeights | null {
    const host = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name] of module.namedParameters()) {
      const t = checkpoint.get(name);
      if (!t) return null;
      host.set(name, {
        shape: t.shape,
        data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data),
      });
    }
    return new OnnxWeights(host);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): { shape: number[]; data: Float32Array } {
    const t = this.tensors.get(name);
    if (!t) throw new OnnxGraphError(`weight "${name}" is missing from the state dict`);
    this.used.add(name);
    return t;
  }

  /** Adds `name` to the graph as an initializer (same name, same layout); returns the value name. */
  add(g: OnnxGraph, name: string): string {
    const t = this.get(name);
    return g.initializer(name, 'float32', t.shape, t.data);
  }

  /** Marks every weight under `prefix` as deliberately not exported (e.g. a pooler a head does not use). */
  ignore(prefix: string): void {
    for (const n of this.tensors.keys()) if (n.startsWith(prefix)) this.used.add(n);
  }

  /** Names never read: the exporter treats these as a bug (or an unsupported head). */
  unused(): string[] {
    return [...this.tensors.keys()].filter((n) => !this.used.has(n));
  }
}

/** Reads a field by its HF name (`hidden_size`) or its camelCase twin (`hiddenSize`). */
export function configField<T>(config: object, snake: string, fallback?: T): T {
  // Plain HF data, or a config class that serialises to it (e.g. ViTConfig.toJSON()).
  const json = (config as { toJSON?: () => unknown }).toJSON;
  const c = (typeof json === 'function' ? json.call(config) : config) as Record<string, unknown>;
  const camel = snake.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
  const v = c[snake] ?? c[camel] ?? fallback;
  if (v === undefined) throw new OnnxGraphError(`config has no "${snake}"`);
  return v as T;
}

/**
 * y = x·Wᵀ + b for an HF Linear `prefix.weight` [out, in]. W is stored as the checkpoint has it (no host copy)
 * behind a Transpose that onnxruntime folds into a constant once, when it loads the graph.
 */
export function onnxLinear(g: OnnxGraph, ws: OnnxWeights, x: string, prefix: string): string {
  const wt = g.node('Transpose', [ws.add(g, `${prefix}.weight`)], { perm: [1, 0] }); // [in, out]
  const y = g.node('MatMul', [x, wt]);
  return ws.has(`${prefix}.bias`) ? g.node('Add', [y, ws.add(g, `${prefix}.bias`)]) : y;
}

/** LayerNormalization over the last axis (an opset-17 op). */
export function onnxLayerNorm(g: OnnxGraph, ws: OnnxWeights, x: string, prefix: string, eps: number): string {
  return g.node('LayerNormalization', [x, ws.add(g, `${prefix}.weight`), ws.add(g, `${prefix}.bias`)], {
    axis: -1,
    epsilon: onnxFloat(eps),
  });
}

/** HF `hidden_act`. Gelu is an op only from opset 20, so the erf form is spelled out: 0.5·x·(1 + erf(x/√2)). */
export function onnxActivation(g: OnnxGraph, x: string, act: string): string {
  const c = (v: number) => g.constFloat([v], []);
  switch (act) {
    case 'gelu': {
      const erf = g.node('Erf', [g.node('Mul', [x, c(Math.SQRT1_2)])]);
      return g.node('Mul', [g.node('Mul', [x, c(0.5)]), g.node('Add', [erf, c(1)])]);
    }
    case 'gelu_new': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const x3 = g.node('Mul', [g.node('Mul', [x, x]), x]);
      const inner = g.node('Mul', [
        g.node('Add', [x, g.node('Mul', [x3, c(0.044715)])]),
        c(Math.sqrt(2 / Math.PI)),
      ]);
      return g.node('Mul', [g.node('Mul', [x, c(0.5)]), g.node('Add', [g.node('Tanh', [inner]), c(1)])]);
    }
    case 'relu':
      return g.node('Relu', [x]);
    case 'tanh':
      return g.node('Tanh', [x]);
    default:
      throw new OnnxGraphError(`activation "${act}" has no ONNX export`);
  }
}

/** attention_mask [b, s] (int64 0/1) → additive mask [b, 1, 1, s]: 0 where attended, float32 min where padded. */
export function onnxPaddingMask(g: OnnxGraph, attentionMask: string): string {
  const m = g.node('Cast', [attentionMask], { to: 1 });
  const inv = g.node('Sub', [g.constFloat([1], []), m]);
  const add = g.node('Mul', [inv, g.constFloat([FLOAT32_MIN], [])]);
  return g.node('Unsqueeze', [add, g.constInt64([1, 2])]);
}

export interface SelfAttentionNames {
  query: string;
  key: string;
  value: string;
}

/**
 * Multi-head self-attention as HF computes it: softmax(q·kᵀ/√d + mask)·v, heads merged.
 * x: [b, s, H] → context [b, s, H] (before the output projection).
 */
export function onnxSelfAttention(
  g: OnnxGraph,
  ws: OnnxWeights,
  x: string,
  names: SelfAttentionNames,
  numHeads: number,
  hiddenSize: number,
  mask?: string,
): string {
  const headDim = hiddenSize / numHeads;
  const split = g.constInt64([0, 0, numHeads, headDim]); // Reshape: 0 keeps the input's dim
  const heads = (prefix: string, perm: number[]) =>
    g.node('Transpose', [g.node('Reshape', [onnxLinear(g, ws, x, prefix), split])], { perm });
  const q = heads(names.query, [0, 2, 1, 3]); // [b, h, s, d]
  const kT = heads(names.key, [0, 2, 3, 1]); // [b, h, d, s]
  const v = heads(names.value, [0, 2, 1, 3]); // [b, h, s, d]
  let scores = g.node('Div', [g.node('MatMul', [q, kT]), g.constFloat([Math.sqrt(headDim)], [])]); // [b, h, s, s]
  if (mask) scores = g.node('Add', [scores, mask]);
  const probs = g.node('Softmax', [scores], { axis: -1 });
  const ctx = g.node('Transpose', [g.node('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }); // [b, s, h, d]
  return g.node('Reshape', [ctx, g.constInt64([0, 0, hiddenSize])]);
}

/** x[:, 0, :] — the first ([CLS]) token: [b, s, H] → [b, H]. */
export function onnxFirstToken(g: OnnxGraph, x: string): string {
  return g.node('Gather', [x, g.constInt64([0], [])], { axis: 1 });
}
