/**
 * Word2Vec's steps as batched tfjs ops (`engine: 'tfjs'`), on whichever tfjs backend is active (cpu, wasm,
 * webgpu): the teaching version, where the formulas (1)–(5) of word2vec.ts's header are tensor ops.
 *
 * The training loop in word2vec.ts draws the examples exactly as for the other engines (same random stream,
 * noise table, subsampling, windows and learning rate); this engine queues them and, every `batchSize`
 * examples, computes all of their updates from the matrices as they were at the start of the batch and adds
 * them in with a scatter-add (`tf.scatterND` sums the rows of repeated indices). That is the one difference
 * from word2vec.c's sequential SGD, where example i + 1 already sees example i's update: with batchSize 1
 * the two agree (up to float rounding), except where one example's noise words repeat a word, whose second
 * row word2vec.c reads after the first one's update.
 */
import { tf } from '@attn/core-tensor';
import type { StepEngine } from './word2vec-kernel.js';

export interface TfjsStepEngine extends StepEngine {
  readonly kind: 'tfjs';
  /** Both matrices as they are now (queued examples run first), copies. */
  read(): Promise<{ syn0: Float32Array; syn1: Float32Array }>;
}

/**
 * One batch of B negative-sampling predictions, formulas (2)–(5) of word2vec.ts once for every engine's
 * `negativeSamplingStep` loop:
 *   h [B, dim] input vectors, u [B, T, dim] rows of syn1 for the T = 1 + negative targets (true word first),
 *   lr [B] each example's learning rate.
 * Returns Δu = −lr·∂L/∂u [B, T, dim], Δh = −lr·∂L/∂h [B, dim] and the summed loss L (a scalar).
 */
export function negativeSamplingBatch(
  h: tf.Tensor2D,
  u: tf.Tensor3D,
  lr: tf.Tensor1D,
): { du: tf.Tensor3D; dh: tf.Tensor2D; loss: tf.Scalar } {
  return tf.tidy(() => {
    const [B, T] = u.shape;
    // label 1 for the true word (target 0), 0 for the noise words
    const label = tf.concat([tf.ones([B, 1]), tf.zeros([B, T - 1])], 1);
    // (2) f = u·h for every target: [B, T, dim]·[B, dim, 1] → [B, T]
    const f = tf.reshape(tf.matMul(u, tf.expandDims(h, 2)), [B, T]);
    const sig = tf.sigmoid(f);
    // (3) L = −Σ log p, p = σ(f) for the true word, 1 − σ(f) for noise; floored at 1e-30 as the loops do
    const p = tf.add(tf.mul(label, sig), tf.mul(tf.sub(1, label), tf.sub(1, sig)));
    const loss = tf.neg(tf.sum(tf.log(tf.maximum(p, 1e-30)))) as tf.Scalar;
    // (4) g = (label − σ(f))·lr  [B, T]
    const g = tf.mul(tf.sub(label, sig), tf.expandDims(lr, 1));
    // (5) Δu_t = g_t·h  [B, T, dim];  Δh = Σ_t g_t·u_t  [B, dim] (with u as it was before this batch)
    // (outer products as batched matMuls: on the cpu backend a broadcast tf.mul of the same shapes took 20×
    // as long)
    const du = tf.matMul(tf.expandDims(g, 2), tf.expandDims(h, 1)) as tf.Tensor3D;
    const dh = tf.reshape(tf.matMul(tf.expandDims(g, 1), u), [B, h.shape[1]]) as tf.Tensor2D;
    return { du, dh, loss };
  });
}

/**
 * The batched engine. `syn0`/`syn1` are host arrays for the training loop to initialise; they are uploaded
 * into tf.Variables at the first batch, and `read()` brings the trained values back.
 */
export function tfjsStepEngine(
  vocab: number,
  dim: number,
  opts: { batchSize: number; maxTargets: number; maxContexts: number },
): TfjsStepEngine {
  const { batchSize: B, maxTargets: T, maxContexts: C } = opts;
  const syn0 = new Float32Array(vocab * dim);
  const syn1 = new Float32Array(vocab * dim);
  let vars: { syn0: tf.Variable<tf.Rank.R2>; syn1: tf.Variable<tf.Rank.R2>; loss: tf.Variable<tf.Rank.R0> };
  // The queue. Examples of one batch all have T targets (the loop always passes 1 + negative) and are all
  // skip-gram or all CBOW (one Word2Vec has one mode); CBOW's contexts are padded to C with weight 0.
  const targets = new Int32Array(B * T);
  const contexts = new Int32Array(B * C);
  const weights = new Float32Array(B * C); // CBOW: 1/c (mean) or 1 (sum) for a real context, 0 for padding
  const apply = new Float32Array(B * C); // CBOW: 1 where a context row gets Δh, 0 for padding
  const lrs = new Float32Array(B);
  let n = 0;
  let nTargets = T;
  let cbow = false;

  const variables = () => {
    // In a tidy, so that the uploaded tensors the variables copy are released.
    vars ??= tf.tidy(() => ({
      syn0: tf.variable(tf.tensor2d(syn0, [vocab, dim]), false),
      syn1: tf.variable(tf.tensor2d(syn1, [vocab, dim]), false),
      loss: tf.variable(tf.scalar(0), false),
    }));
    return vars;
  };

  const run = () => {
    if (n === 0) return;
    const v = variables();
    tf.tidy(() => {
      const c = cbow ? C : 1;
      const ctx = tf.tensor2d(contexts.subarray(0, n * c), [n, c], 'int32');
      const tgt = tf.tensor1d(targets.subarray(0, n * nTargets), 'int32');
      // (1) skip-gram: h = v_context; CBOW: h = Σ_c w_c·v_c (w = 1/c for the mean, 1 for the sum)
      const rows = tf.reshape(tf.gather(v.syn0, tf.reshape(ctx, [-1])), [n, c, dim]);
      const h = cbow
        ? tf.reshape(tf.matMul(tf.tensor3d(weights.subarray(0, n * c), [n, 1, c]), rows), [n, dim])
        : tf.reshape(rows, [n, dim]);
      const u = tf.reshape(tf.gather(v.syn1, tgt), [n, nTargets, dim]) as tf.Tensor3D;
      const { du, dh, loss } = negativeSamplingBatch(h as tf.Tensor2D, u, tf.tensor1d(lrs.subarray(0, n)));
      // Scatter-add: scatterND sums the updates of repeated rows (a frequent word, a noise word drawn twice).
      v.syn1.assign(
        tf.add(v.syn1, tf.scatterND(tf.reshape(tgt, [-1, 1]), tf.reshape(du, [-1, dim]), [vocab, dim])),
      );
      // Every context row of an example gets that example's whole Δh (word2vec.c's CBOW update; see cbowStep).
      const dIn = cbow
        ? tf.matMul(tf.tensor3d(apply.subarray(0, n * c), [n, c, 1]), tf.expandDims(dh, 1)) // [n, c, dim]
        : dh;
      v.syn0.assign(
        tf.add(v.syn0, tf.scatterND(tf.reshape(ctx, [-1, 1]), tf.reshape(dIn, [-1, dim]), [vocab, dim])),
      );
      v.loss.assign(tf.add(v.loss, loss));
    });
    n = 0;
  };

  // Writes example n's targets and lr (a batch is one kind with one target count: run what is queued first).
  const queue = (isCbow: boolean, lr: number, tgt: ArrayLike<number>, nT: number) => {
    if (n > 0 && (isCbow !== cbow || nT !== nTargets)) run();
    if (nT > T) throw new RangeError(`word2vec tfjs engine: ${nT} targets, made for at most ${T}`);
    cbow = isCbow;
    nTargets = nT;
    for (let t = 0; t < nT; t++) targets[n * nT + t] = tgt[t]!;
    lrs[n] = lr;
  };

  return {
    kind: 'tfjs',
    syn0,
    syn1,
    skipGram(context, tgt, nT, lr) {
      queue(false, lr, tgt, nT);
      contexts[n] = context;
      if (++n === B) run();
      return 0; // the loss comes from flush()
    },
    cbow(ctx, nContexts, tgt, nT, lr, mean) {
      if (nContexts > C) throw new RangeError(`word2vec tfjs engine: ${nContexts} contexts, made for ${C}`);
      queue(true, lr, tgt, nT);
      for (let c = 0; c < C; c++) {
        const real = c < nContexts;
        contexts[n * C + c] = real ? ctx[c]! : 0; // padding reads row 0 with weight 0 and adds 0 to it
        weights[n * C + c] = real ? (mean ? 1 / nContexts : 1) : 0;
        apply[n * C + c] = real ? 1 : 0;
      }
      if (++n === B) run();
      return 0;
    },
    async flush() {
      run();
      if (!vars) return 0;
      const loss = (await vars.loss.data())[0]!;
      tf.tidy(() => vars.loss.assign(tf.scalar(0))); // tidy releases the scalar the variable copied
      return loss;
    },
    async read() {
      run();
      const v = variables();
      const [a, b] = await Promise.all([v.syn0.data(), v.syn1.data()]);
      return { syn0: Float32Array.from(a as Float32Array), syn1: Float32Array.from(b as Float32Array) };
    },
    async result() {
      return (await this.read()).syn0;
    },
    dispose() {
      if (!vars) return;
      for (const x of [vars.syn0, vars.syn1, vars.loss]) x.dispose();
    },
  };
}
