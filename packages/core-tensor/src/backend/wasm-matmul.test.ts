import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, deterministicValues as values } from '../testing.js';
import { initBackend } from './init.js';

const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);

/** The product in float64, with numpy-style batch broadcasting: the reference every case is held to. */
function reference(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  tA: boolean,
  tB: boolean,
) {
  const [ar, ac] = aShape.slice(-2) as [number, number];
  const [br, bc] = bShape.slice(-2) as [number, number];
  const [m, k, n] = [tA ? ac : ar, tA ? ar : ac, tB ? br : bc];
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aBatch), pad(bBatch)];
  const outBatch = pa.map((d, i) => Math.max(d, pb[i]!));
  const out = new Float64Array(size(outBatch) * m * n);
  for (let o = 0; o < size(outBatch); o++) {
    // Index of this output matrix in a's and b's batches (size-1 dims broadcast).
    let [ia, ib, rest] = [0, 0, o];
    for (let d = 0; d < rank; d++) {
      const stride = size(outBatch.slice(d + 1));
      const idx = Math.floor(rest / stride);
      rest %= stride;
      ia = ia * pa[d]! + (pa[d] === 1 ? 0 : idx);
      ib = ib * pb[d]! + (pb[d] === 1 ? 0 : idx);
    }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ia * ar * ac + (tA ? p * ac + i : i * ac + p)]!;
          const bv = b[ib * br * bc + (tB ? j * bc + p : p * bc + j)]!;
          sum += av * bv;
        }
        out[o * m * n + i * n + j] = sum;
      }
  }
  return { out, shape: [...outBatch, m, n] };
}

async function check(aShape: number[], bShape: number[], tA = false, tB = false, seed = 1) {
  const [av, bv] = [values(size(aShape), seed), values(size(bShape), seed + 7)];
  const ref = reference(av, aShape, bv, bShape, tA, tB);
  const got = await expectNoLeaks(async () => {
    const [a, b] = [tf.tensor(av, aShape), tf.tensor(bv, bShape)];
    const c = tf.matMul(a, b, tA, tB);
    const res = { shape: c.shape, data: await c.data() };
    tf.dispose([a, b, c]);
    return res;
  }, `matMul [${aShape}]·[${bShape}]`);
  expect(got.shape).toEqual(ref.shape);
  let worst = 0;
  for (let i = 0; i < ref.out.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - ref.out[i]!));
  expect(worst).toBeLessThan(1e-5);
}

describe('wasm BatchMatMul (every product through XNNPACK)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const [tA, tB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const)
    it(`a batch of matrices, transposeA=${tA} transposeB=${tB}`, async () => {
      await check(tA ? [2, 3, 5, 4] : [2, 3, 4, 5], tB ? [2, 3, 6, 5] : [2, 3, 5, 6], tA, tB);
    });

  it('attention-sized heads: [1, 12, 128, 64] · [1, 12, 128, 64]ᵀ and back', async () => {
    await check([1, 12, 128, 64], [1, 12, 128, 64], false, true, 3);
    await check([1, 12, 128, 128], [1, 12, 128, 64], false, false, 4);
  });

  it('broadcasts a single matrix against a batch, on either side', async () => {
    await check([2, 3, 4, 5], [5, 6]); // one tall product
    await check([4, 5], [3, 5, 6]);
    await check([2, 3, 4, 5], [1, 1, 6, 5], false, true);
  });

  it('general batch broadcasting ([2,1,…]·[1,3,…], which tfjs-wasm 4.22 gets wrong)', async () => {
    await check([2, 1, 4, 5], [1, 3, 5, 6]);
  });

  it('empty products', async () => {
    await check([2, 0, 5], [2, 5, 3]);
    await check([2, 3, 0], [2, 0, 4]); // k = 0: all zeros
  });

  it('reused memory never sees a stale packed operand', async () => {
    // Freed buffers are reused at the same offsets; each product must use its own b's values.
    for (let seed = 10; seed < 30; seed++)
      await check([4, 8, 16], seed % 2 === 0 ? [4, 8, 16] : [4, 16, 8], false, seed % 2 === 0, seed);
  });

  it('gradients through a transposed batched product match the float64 reference', async () => {
    // d/da sum(w ⊙ a·bᵀ) = w·b and d/db = wᵀ·a: both are batched matmuls with transposes.
    const [aS, bS, wS] = [
      [3, 4, 5],
      [3, 6, 5],
      [3, 4, 6],
    ];
    const [av, bv, wv] = [values(60, 1), values(90, 2), values(72, 3)];
    const ga = reference(wv, wS, bv, bS, false, false).out;
    const gb = reference(wv, wS, av, aS, true, false).out;
    const [a, b, w] = [tf.tensor(av, aS), tf.tensor(bv, bS), tf.tensor(wv, wS)];
    const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), w)))([
      a,
      b,
    ]);
    const [da, db] = await Promise.all(grads.map((g) => g.data()));
    tf.dispose([a, b, w, ...grads]);
    for (let i = 0; i < ga.length; i++) expect(Math.abs(da![i]! - ga[i]!)).toBeLessThan(1e-5);
    for (let i = 0; i < gb.length; i++) expect(Math.abs(db![i]! - gb[i]!)).toBeLessThan(1e-5);
  });
});
