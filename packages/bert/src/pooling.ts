import { BertInputError } from './errors.js';
import type { Pooling } from './sentence-transformers.js';

/**
 * Token vectors → sentence vectors, as sentence-transformers' Pooling (+ Normalize) modules compute them, on
 * the host: `hidden` is the encoder's last hidden state [b, t, H] row-major, as it arrives from onnxruntime or
 * from a tfjs download. One pass over the floats; in tfjs-cpu the same took four kernels and three
 * [b, t, H] temporaries, ~15% of a native batch.
 *   'none' → [b, t, H] · 'cls' → the first token · 'mean' → the mean over real tokens (attention mask 1)
 *   'max' → the per-feature max over real tokens · `normalize` → each vector / max(‖v‖₂, 1e-12)
 */
export function poolHidden(
  hidden: Float32Array,
  [b, t, H]: readonly [number, number, number],
  attentionMask: readonly (readonly number[])[],
  pooling: Pooling,
  normalize: boolean,
): { data: Float32Array; dims: number[] } {
  if (!['none', 'mean', 'cls', 'max'].includes(pooling))
    throw new BertInputError(
      `pooling: expected 'none', 'mean', 'cls' or 'max', got ${JSON.stringify(pooling)}`,
    );
  if (hidden.length !== b * t * H)
    throw new BertInputError(`hidden states: ${hidden.length} values for shape [${b}, ${t}, ${H}]`);
  if (pooling === 'none') {
    const data = hidden.slice();
    if (normalize) for (let r = 0; r < b * t; r++) normalizeRow(data, r * H, H);
    return { data, dims: [b, t, H] };
  }
  const data = new Float32Array(b * H);
  const acc = new Float64Array(H);
  for (let i = 0; i < b; i++) {
    const mask = attentionMask[i]!;
    if (pooling === 'cls') acc.set(hidden.subarray(i * t * H, i * t * H + H));
    else {
      // sentence-transformers' max sets padded positions to -1e9, so a text of padding alone gives -1e9
      acc.fill(pooling === 'max' ? -1e9 : 0);
      let count = 0;
      for (let j = 0; j < t; j++) {
        if (!mask[j]) continue;
        count++;
        const row = (i * t + j) * H;
        if (pooling === 'max') for (let k = 0; k < H; k++) acc[k] = Math.max(acc[k]!, hidden[row + k]!);
        else for (let k = 0; k < H; k++) acc[k]! += hidden[row + k]!;
      }
      if (pooling === 'mean') {
        const n = Math.max(count, 1e-9);
        for (let k = 0; k < H; k++) acc[k]! /= n;
      }
    }
    data.set(acc, i * H);
    if (normalize) normalizeRow(data, i * H, H);
  }
  return { data, dims: [b, H] };
}

function normalizeRow(v: Float32Array, at: number, n: number): void {
  let ss = 0;
  for (let k = 0; k < n; k++) ss += v[at + k]! * v[at + k]!;
  const norm = Math.max(Math.sqrt(ss), 1e-12);
  for (let k = 0; k < n; k++) v[at + k]! /= norm;
}
