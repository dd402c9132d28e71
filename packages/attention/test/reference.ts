/**
 * Attention computed independently of tfjs, in float64 with plain loops, straight from the formula:
 * weights[b,h,i,j] = softmax_j(Σ_d q[b,h,i,d]·k[b,h,j,d] / √D + mask[b,h,i,j]),  out = weights · v.
 */
import { Random } from '@attn/core-tensor';
import { MASKED } from '../src/index.js';

export interface Shape4 {
  b: number;
  h: number;
  tq: number;
  tk: number;
  d: number;
}

/** mask(b, h, i, j) → additive value (0 or MASKED). */
export type MaskFn = (b: number, h: number, i: number, j: number) => number;

export function referenceAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  s: Shape4,
  mask?: MaskFn,
) {
  const { b: B, h: H, tq, tk, d: D } = s;
  const weights = new Float64Array(B * H * tq * tk);
  const output = new Float64Array(B * H * tq * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < tq; i++) {
        const scores = new Float64Array(tk);
        for (let j = 0; j < tk; j++) {
          let dot = 0;
          for (let e = 0; e < D; e++)
            dot += q[((b * H + h) * tq + i) * D + e]! * k[((b * H + h) * tk + j) * D + e]!;
          scores[j] = dot / Math.sqrt(D);
        }
        // Allowed keys: the mask is 0 there. A row with no allowed key is uniform (as float32-min masking gives).
        const allowed = Array.from(scores, (_, j) => !mask || mask(b, h, i, j) === 0);
        const anyAllowed = allowed.includes(true);
        let max = -Infinity;
        for (let j = 0; j < tk; j++) if (allowed[j] || !anyAllowed) max = Math.max(max, scores[j]!);
        let sum = 0;
        const e = new Float64Array(tk);
        for (let j = 0; j < tk; j++) {
          e[j] = !anyAllowed ? 1 : allowed[j] ? Math.exp(scores[j]! - max) : 0;
          sum += e[j]!;
        }
        for (let j = 0; j < tk; j++) weights[((b * H + h) * tq + i) * tk + j] = e[j]! / sum;
        for (let x = 0; x < D; x++) {
          let acc = 0;
          for (let j = 0; j < tk; j++) acc += (e[j]! / sum) * v[((b * H + h) * tk + j) * D + x]!;
          output[((b * H + h) * tq + i) * D + x] = acc;
        }
      }
  return { weights, output };
}

export const NO_KEY = MASKED;

/** A reproducible stream of uniform numbers in [-1, 1). */
export function uniform(n: number, seed: number): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: n }, () => random.next() * 2 - 1);
}
