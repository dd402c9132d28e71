/**
 * The README's example: one attention head over four tokens, by hand, with a padding and a causal mask.
 *   pnpm --filter @attn/attention example:attention-map
 */

import {
  causalMask,
  combineMasks,
  formatAttentionMap,
  paddingMask,
  scaledDotProductAttention,
} from '@attn/attention';
import { initBackend, tf } from '@attn/core-tensor';

await initBackend('cpu');
const tokens = ['the', 'cat', 'sat', '[PAD]'];
// Keys say what each token offers; queries say what each token looks for (2-d for readability).
// "sat" looks for a subject: its query points the same way as the key of "cat".
const keys = [
  [1, 0],
  [0, 1],
  [0.7, 0.7],
  [0, 0],
];
const queries = [
  [2, 0],
  [2, 2],
  [0, 4],
  [0, 0],
];
const values = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
]; // one-hot: output = weights

const q = tf.tensor4d([[queries]], [1, 1, 4, 2]); // [batch, heads, tq, d]
const k = tf.tensor4d([[keys]], [1, 1, 4, 2]); // [batch, heads, tk, d]
const v = tf.tensor4d([[values]], [1, 1, 4, 4]);
const attentionMask = tf.tensor2d([[1, 1, 1, 0]]); // the 4th token is padding
const mask = combineMasks(paddingMask(attentionMask), causalMask(4));

for (const [title, m] of [
  ['no mask', undefined],
  ['padding + causal mask', mask],
] as const) {
  const { weights } = scaledDotProductAttention(q, k, v, { mask: m });
  console.log(`\n${title}: row = query, column = key`);
  console.log(formatAttentionMap((weights.arraySync() as number[][][][])[0]![0]!, tokens, tokens));
  weights.dispose();
}
