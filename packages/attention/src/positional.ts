import { initNormal, Module, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import { AttentionShapeError } from './errors.js';

/**
 * The fixed encoding of "Attention Is All You Need" §3.5, a [maxLen, dModel] tensor:
 *   PE(pos, 2i) = sin(pos / 10000^(2i/d)),   PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
 * Each pair of columns is a rotation at its own frequency, so PE(pos + k) is a fixed linear map
 * (a block-diagonal rotation by k·ω_i) of PE(pos): relative offsets are easy for attention to read.
 * Computed in float64, stored as float32.
 */
export function sinusoidalPositionalEncoding(maxLen: number, dModel: number): tf.Tensor2D {
  for (const [name, v] of [
    ['maxLen', maxLen],
    ['dModel', dModel],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new AttentionShapeError(
        `sinusoidalPositionalEncoding: ${name}`,
        `expected a positive integer, got ${v}`,
      );
  const pe = new Float32Array(maxLen * dModel);
  for (let pos = 0; pos < maxLen; pos++)
    for (let i = 0; 2 * i < dModel; i++) {
      const angle = pos / 10000 ** ((2 * i) / dModel);
      pe[pos * dModel + 2 * i] = Math.sin(angle);
      if (2 * i + 1 < dModel) pe[pos * dModel + 2 * i + 1] = Math.cos(angle);
    }
  return tf.tensor2d(pe, [maxLen, dModel]);
}

/**
 * Learned absolute position embeddings (BERT's `embeddings.position_embeddings`): one trained vector per
 * position. State-dict name `weight` [maxPositions, dim], as an nn.Embedding, so HF checkpoints load as is.
 */
export class LearnedPositionalEmbedding extends Module {
  readonly weight;
  constructor(
    readonly maxPositions: number,
    readonly dim: number,
    opts: { std?: number } = {},
  ) {
    super();
    // Deferred, as core-tensor's Embedding: loading a checkpoint never allocates the random init.
    this.weight = this.param('weight', {
      shape: [maxPositions, dim],
      init: () => initNormal([maxPositions, dim], opts.std ?? 0.02),
    });
  }

  /** The embeddings of positions offset … offset+length−1: [length, dim], to add to [b, length, dim]. */
  forward(length: number, offset = 0): tf.Tensor2D {
    if (offset < 0 || offset + length > this.maxPositions)
      throw new AttentionShapeError(
        'LearnedPositionalEmbedding: length',
        `positions ${offset}..${offset + length - 1} exceed maxPositions ${this.maxPositions}`,
      );
    return tf.slice(this.weight.value as tf.Tensor2D, [offset, 0], [length, this.dim]);
  }

  /** The same in ONNX: `positions` int64 [t] (e.g. a Range) → [t, dim]. */
  toOnnx(g: OnnxModuleGraph, positions: string): string {
    return g.node('Gather', [g.param(this.weight), positions], { axis: 0 });
  }
}
