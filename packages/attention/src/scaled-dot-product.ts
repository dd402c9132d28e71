import { dropoutKeepingMask, tf } from '@attn/core-tensor';
import type { OnnxGraph } from '@attn/core-tensor/onnx';
import { AttentionShapeError } from './errors.js';
import { SOFTMAX_FLOOR } from './masks.js';

export interface AttentionOptions {
  /** Additive mask, broadcastable to [b, h, tq, tk]: 0 keeps a key, a large negative (MASKED) drops it. */
  mask?: tf.Tensor;
  /** Dropout rate on the attention probabilities, applied only when `training` is true. */
  dropout?: number;
  training?: boolean;
}

export interface AttentionResult {
  /** [b, h, tq, d] */
  output: tf.Tensor4D;
  /** The attention probabilities, [b, h, tq, tk]: each row sums to 1 (before dropout). */
  weights: tf.Tensor4D;
}

/**
 * Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k + mask) · V      ("Attention Is All You Need", eq. 1)
 *
 * q: [b, h, tq, d], k and v: [b, h, tk, d]. Every query row is scored against every key by a dot product;
 * dividing by √d keeps the scores' variance near 1 whatever the head size, so the softmax does not saturate.
 * The caller owns (disposes) both returned tensors.
 */
export function scaledDotProductAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  opts: AttentionOptions = {},
): AttentionResult {
  checkShapes(q, k, v, opts.mask);
  const d = q.shape[3]!;
  return tf.tidy(() => {
    const scores = tf.matMul(q, k, false, true); // [b, h, tq, tk]
    const weights = scaledMaskedSoftmax(scores, Math.sqrt(d), opts.mask) as tf.Tensor4D;
    const rate = opts.dropout ?? 0;
    const dropped = opts.training && rate > 0 ? dropoutKeepingMask(weights, rate) : weights;
    const output = tf.matMul(dropped, v) as tf.Tensor4D; // [b, h, tq, d]
    return { output, weights };
  });
}

/**
 * softmax(scores / scale + max(mask, SOFTMAX_FLOOR)) over the last axis, the same ops and numbers as taping
 * them one by one, with a gradient that keeps only the probabilities p (and the mask, which the caller holds
 * anyway): d scores = p ⊙ (dy − Σ dy ⊙ p) / scale. Taped op by op, the backward kept the raw scores (for
 * the division), the scaled ones (for the mask's addition) and p: three [b, h, tq, tk] tensors a layer.
 * The mask gets its gradient too (the reduced d scores where it is above the floor), as taped.
 */
export function scaledMaskedSoftmax(scores: tf.Tensor, scale: number, mask?: tf.Tensor): tf.Tensor {
  // Clamping keeps a caller's −∞ (or float32-min) mask at a finite floor: exp(floor − max) is still exactly 0,
  // and fully masked rows stay NaN-free on every backend (WebGPU's softmax turns a row of float32 min into NaN).
  // tfjs's softmax subtracts the row max first: stable.
  const forward = (s: tf.Tensor, m?: tf.Tensor) => {
    const scaled = tf.div(s, scale);
    return tf.softmax(m ? tf.add(scaled, tf.maximum(m, SOFTMAX_FLOOR)) : scaled, -1);
  };
  // tfjs's Softmax gradient, from p alone.
  const dLogits = (dy: tf.Tensor, p: tf.Tensor) => {
    const dyTimesP = tf.mul(dy, p);
    return tf.sub(dyTimesP, tf.mul(tf.sum(dyTimesP, -1, true), p));
  };
  return tf.tidy(() => {
    if (!mask) {
      const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [s, save] = args as [tf.Tensor, tf.GradSaveFunc];
        const p = forward(s);
        save([p]);
        return {
          value: p,
          gradFunc: (dy: tf.Tensor, [p0]: tf.Tensor[]) => tf.tidy(() => tf.div(dLogits(dy, p0!), scale)),
        };
      });
      return op(scores);
    }
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [s, m, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const p = forward(s, m);
      save([p, m]);
      return {
        value: p,
        gradFunc: (dy: tf.Tensor, [p0, m0]: tf.Tensor[]) =>
          tf.tidy(() => {
            const dl = dLogits(dy, p0!);
            // The mask broadcasts over [b, h, tq, tk]: its gradient is the sum over the axes it was broadcast on.
            const axes = tf.backend_util.getReductionAxes(m0!.shape, dl.shape);
            const dm = tf.reshape(axes.length > 0 ? tf.sum(dl, axes) : dl, m0!.shape);
            const above = tf.cast(tf.greaterEqual(m0!, SOFTMAX_FLOOR), 'float32');
            return [tf.div(dl, scale), tf.mul(dm, above)];
          }),
      };
    });
    return op(scores, mask);
  });
}

/**
 * The same in ONNX, floor included: q [b, h, tq, d], k and v [b, h, tk, d] → [b, h, tq, d].
 * `d` is the head size, fixed when the graph is built.
 */
export function scaledDotProductAttentionOnnx(
  g: OnnxGraph,
  q: string,
  k: string,
  v: string,
  d: number,
  mask?: string,
  opts: { dropout?: number; training?: boolean } = {},
): string {
  const kT = g.node('Transpose', [k], { perm: [0, 1, 3, 2] }); // [b, h, d, tk]
  let scores = g.node('Div', [g.node('MatMul', [q, kT]), g.constFloat([Math.sqrt(d)], [])]); // [b, h, tq, tk]
  if (mask) scores = g.node('Add', [scores, g.node('Max', [mask, g.constFloat([SOFTMAX_FLOOR], [])])]);
  const weights = g.node('Softmax', [scores], { axis: -1 });
  // As the tfjs path: dropout on the probabilities, in a training graph only.
  return g.node('MatMul', [g.dropout(weights, opts.dropout ?? 0, opts.training ?? false), v]);
}

function checkShapes(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask?: tf.Tensor) {
  const where = 'scaledDotProductAttention';
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const)
    if (t.rank !== 4)
      throw new AttentionShapeError(
        `${where}: ${name}`,
        `expected [batch, heads, seq, headDim], got [${t.shape}]`,
      );
  const [b, h, tq, d] = q.shape;
  const tk = k.shape[2];
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d)
    throw new AttentionShapeError(`${where}: k`, `shape [${k.shape}] does not fit q [${q.shape}]`);
  if (v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== tk)
    throw new AttentionShapeError(`${where}: v`, `shape [${v.shape}] does not fit k [${k.shape}]`);
  if (!mask) return;
  const target = [b, h, tq, tk];
  const ms = mask.shape;
  const fits = ms.length <= 4 && ms.every((dim, i) => dim === 1 || dim === target[i + 4 - ms.length]);
  if (!fits)
    throw new AttentionShapeError(`${where}: mask`, `shape [${ms}] does not broadcast to [${target}]`);
}
