/**
 * Floating-point operations of one forward pass (2 per multiply-add), counting the matmuls only: the
 * projections, the MLP and the two attention products. LayerNorm, softmax, GELU and embeddings add < 1 %
 * at these sizes and are left out, so "effective GFLOP/s" is a slight under-estimate, as usual.
 */
export interface EncoderShape {
  layers: number;
  hidden: number;
  intermediate: number;
}

/** One sequence of `tokens` through the encoder stack. */
export function encoderFlops(s: EncoderShape, tokens: number): number {
  const proj = 2 * tokens * (4 * s.hidden * s.hidden + 2 * s.hidden * s.intermediate); // Q, K, V, O + MLP
  const attn = 2 * 2 * tokens * tokens * s.hidden; // q·kᵀ and p·v over all heads
  return s.layers * (proj + attn);
}

/** ViT: the encoder plus the patch embedding (a matmul of patch pixels to hidden) and the classifier. */
export function vitFlops(s: EncoderShape & { imageSize: number; patch: number; labels: number }): number {
  const patches = (s.imageSize / s.patch) ** 2;
  const embed = 2 * patches * 3 * s.patch * s.patch * s.hidden;
  return embed + encoderFlops(s, patches + 1) + 2 * s.hidden * s.labels;
}

/** A training step ≈ 3 forward passes (forward + backward through activations and weights). */
export const TRAIN_FLOPS_FACTOR = 3;
