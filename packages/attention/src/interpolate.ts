import { tf } from '@attn/core-tensor';
import { AttentionShapeError } from './errors.js';

/**
 * Resizes a ViT's learned patch-position grid for another image resolution, exactly as Hugging Face's
 * `ViTEmbeddings.interpolate_pos_encoding` (transformers 4.31) does:
 *   torch.nn.functional.interpolate(grid, scale_factor=((h+0.1)/g, (w+0.1)/g), mode='bicubic', align_corners=False)
 * The +0.1 (from DINO) makes floor(g·scale) land on h and w despite rounding; torch then maps output pixel
 * o to the source coordinate (o + 0.5)/scale − 0.5 using that same scale (not g/h), and samples with the
 * cubic convolution kernel (a = −0.75), clamping taps at the border.
 *
 * posEmbed: [1, numPrefixTokens + g·g, D] (CLS first) → [1, numPrefixTokens + h·w, D].
 * As HF, returns the embeddings unchanged (a copy) when the grid already has h·w = g·g patches and h = w.
 */
export function interpolatePositionEmbeddings(
  posEmbed: tf.Tensor,
  newHeight: number,
  newWidth: number,
  opts: { numPrefixTokens?: number } = {},
): tf.Tensor3D {
  const prefix = opts.numPrefixTokens ?? 1;
  const where = 'interpolatePositionEmbeddings';
  if (posEmbed.rank !== 3 || posEmbed.shape[0] !== 1)
    throw new AttentionShapeError(`${where}: posEmbed`, `expected [1, tokens, dim], got [${posEmbed.shape}]`);
  const [, tokens, dim] = posEmbed.shape as [number, number, number];
  const g = Math.sqrt(tokens - prefix);
  if (!Number.isInteger(g))
    throw new AttentionShapeError(
      `${where}: posEmbed`,
      `${tokens - prefix} patch positions do not form a square grid`,
    );
  for (const [name, v] of [
    ['newHeight', newHeight],
    ['newWidth', newWidth],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new AttentionShapeError(`${where}: ${name}`, `expected a positive integer, got ${v}`);
  if (newHeight * newWidth === g * g && newHeight === newWidth) return tf.clone(posEmbed) as tf.Tensor3D;

  return tf.tidy(() => {
    const rows = bicubicMatrix(g, newHeight, (newHeight + 0.1) / g); // [newHeight, g]
    const cols = bicubicMatrix(g, newWidth, (newWidth + 0.1) / g); // [newWidth, g]
    const cls = tf.slice(posEmbed, [0, 0, 0], [1, prefix, dim]);
    const grid = tf.reshape(tf.slice(posEmbed, [0, prefix, 0], [1, g * g, dim]), [g, g * dim]); // [g(y), g(x)·D]
    // Separable: resize along y (rows · grid), then along x, each a matrix product.
    const alongY = tf.reshape(tf.matMul(rows, grid), [newHeight, g, dim]); // [h, g(x), D]
    const xFirst = tf.reshape(tf.transpose(alongY, [1, 0, 2]), [g, newHeight * dim]); // [g(x), h·D]
    const alongX = tf.reshape(tf.matMul(cols, xFirst), [newWidth, newHeight, dim]); // [w, h, D]
    const patches = tf.reshape(tf.transpose(alongX, [1, 0, 2]), [1, newHeight * newWidth, dim]);
    return tf.concat([cls, patches], 1) as tf.Tensor3D;
  });
}

/** torch's cubic convolution kernel with a = −0.75 at distance x. */
function cubic(x: number, a = -0.75): number {
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/**
 * The [outSize, inSize] matrix of 1-D bicubic resampling (align_corners=False, given scale):
 * row o holds the 4 tap weights of output o, border taps clamped onto the edge (so they accumulate).
 */
function bicubicMatrix(inSize: number, outSize: number, scale: number): tf.Tensor2D {
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) / scale - 0.5;
    const base = Math.floor(src);
    const t = src - base;
    for (let k = -1; k <= 2; k++) {
      const idx = Math.min(Math.max(base + k, 0), inSize - 1);
      m[o * inSize + idx] += cubic(k - t);
    }
  }
  return tf.tensor2d(m, [outSize, inSize]);
}
