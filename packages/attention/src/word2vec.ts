import { atomicWriteFile, Random, tf } from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';
import { jsStepEngine, type StepEngine, wasmStepEngine } from './word2vec-kernel.js';
import { tfjsStepEngine } from './word2vec-tfjs.js';

/**
 * Word2Vec (Mikolov et al. 2013) with negative sampling: how an embedding matrix like
 * `ScaledTokenEmbedding`'s is learned from raw text before any attention is applied.
 *
 * - CBOW: the context words go through the input matrix `syn0`, their vectors are averaged (or summed), and
 *   that vector h predicts the middle word.
 * - skip-gram: the middle word predicts each of its context words (as in word2vec.c and gensim, the pair
 *   (centre, context) is trained with the context word's vector as input and the centre word as target).
 *
 * Each prediction is one logistic regression against the target's output vector (`syn1neg`) and
 * `negative` noise words drawn from the unigram^0.75 distribution. The formulas, numbered so that every
 * engine's code can point at them (negativeSamplingStep below for 'js', word2vec-kernel.ts for 'wasm-simd',
 * negativeSamplingBatch in word2vec-tfjs.ts for 'tfjs'):
 *   (1) h = v_context (skip-gram) or h = Σ_c w_c·v_c over the context rows, w_c = 1/c (mean) or 1 (sum)
 *   (2) f_t = u_t·h for the targets t = o (the true word, label 1) and the noise words k (label 0)
 *   (3) L = −log σ(f_o) − Σ_k log σ(−f_k)
 *   (4) g_t = (label_t − σ(f_t))·lr, so that ∂L/∂u_t = (σ(f_t) − label_t)·h and ∂L/∂h = Σ_t (σ(f_t) − label_t)·u_t
 *   (5) u_t += g_t·h (= −lr·∂L/∂u_t);  every input row of (1) += Σ_t g_t·u_t (= −lr·∂L/∂h)
 *
 * Training is plain SGD, one (h, targets) step at a time: a step touches 1 + negative rows of dim floats,
 * far too little work for a tfjs op's dispatch (engine 'tfjs' ran 13–15× slower than wasm-simd on the wasm
 * backend, about 50× on cpu; see the attention README). So by default the steps run on a small WebAssembly
 * SIMD kernel (word2vec-kernel.ts), or on the Float32Array loops below where SIMD is missing. `engine: 'tfjs'` runs the same formulas as batched
 * tensor ops (word2vec-tfjs.ts), the readable version. The trained vectors are then held in a tfjs tensor,
 * and the queries (cosine similarity against the whole vocabulary, top-k) run as tfjs ops.
 */

export type Word2VecMode = 'cbow' | 'skipgram';

export interface Word2VecOptions {
  mode?: Word2VecMode;
  /** Vector size (default 100). */
  dim?: number;
  /** Largest distance between the centre and a context word; each position draws its own 1..window (default 5). */
  window?: number;
  /** Noise words per positive example (default 5). */
  negative?: number;
  /** Words seen fewer times than this are dropped from the vocabulary (default 5). */
  minCount?: number;
  /** Passes over the corpus (default 5). */
  epochs?: number;
  seed?: number;
  /** Starting learning rate (default 0.025, as gensim), decayed linearly to `minAlpha` over all epochs. */
  alpha?: number;
  minAlpha?: number;
  /** Subsampling threshold t: a word of frequency f is kept with probability (√(f/t) + 1)·t/f (default 1e-3). */
  sample?: number;
  /** CBOW: average the context vectors (default true, as gensim's cbow_mean=1) or sum them. */
  cbowMean?: boolean;
  /** Keep at most this many of the most frequent words. */
  maxVocab?: number;
  /**
   * Where the steps run: 'wasm-simd' (WebAssembly f32x4, about 4× faster), 'js' (Float32Array loops),
   * 'tfjs' (batches of `batchSize` examples as tfjs ops on the active backend, the slowest), or 'auto'
   * (default): SIMD where the runtime has it, else 'js'. js and wasm-simd compute the same updates (up to
   * float rounding); tfjs computes each batch's updates from the matrices as they were before the batch.
   */
  engine?: Word2VecEngine;
  /** engine 'tfjs': examples per batch of tensor ops (default 1024). */
  batchSize?: number;
}

export type Word2VecEngine = 'auto' | 'js' | 'wasm-simd' | 'tfjs';

export interface Word2VecProgress {
  epoch: number;
  epochs: number;
  /** Corpus words processed so far, over all epochs (before subsampling, as gensim counts them). */
  words: number;
  totalWords: number;
  /** Mean loss per prediction since the previous report. */
  loss: number;
  alpha: number;
}

export interface TrainCallbacks {
  /** Called about every `progressEvery` words (default 10,000) and at the end of each epoch. */
  onProgress?: (p: Word2VecProgress) => void;
  onEpochEnd?: (epoch: number, meanLoss: number) => void;
  progressEvery?: number;
}

export interface Neighbour {
  word: string;
  score: number;
}

/** Bad options, an unknown word, or a vector file that is not word2vec text format (the file is named). */
export class Word2VecError extends Error {
  override readonly name = 'Word2VecError';
}

type Sentences = Iterable<readonly string[]> | AsyncIterable<readonly string[]>;

/**
 * One negative-sampling prediction: input vector h = `input[inOff..inOff+dim)`, targets[0] the true word
 * (label 1), targets[1..n) noise words (label 0). Updates each target's output row in place by −lr·∂L/∂u,
 * adds −lr·∂L/∂h into `neu1e` (computed with the output rows as they were before this step), and returns L.
 */
export function negativeSamplingStep(
  input: Float32Array,
  inOff: number,
  syn1: Float32Array,
  targets: ArrayLike<number>,
  nTargets: number,
  dim: number,
  lr: number,
  neu1e: Float32Array,
): number {
  let loss = 0;
  for (let t = 0; t < nTargets; t++) {
    const outOff = targets[t]! * dim;
    // Four partial sums: V8 does not vectorise, and independent accumulators made the step 1.45× faster.
    let f0 = 0;
    let f1 = 0;
    let f2 = 0;
    let f3 = 0;
    let d = 0;
    for (; d + 3 < dim; d += 4) {
      f0 += input[inOff + d]! * syn1[outOff + d]!;
      f1 += input[inOff + d + 1]! * syn1[outOff + d + 1]!;
      f2 += input[inOff + d + 2]! * syn1[outOff + d + 2]!;
      f3 += input[inOff + d + 3]! * syn1[outOff + d + 3]!;
    }
    let f = f0 + f1 + f2 + f3; // (2) f = u·h
    for (; d < dim; d++) f += input[inOff + d]! * syn1[outOff + d]!;
    const label = t === 0 ? 1 : 0;
    const sig = 1 / (1 + Math.exp(-f));
    // −log σ(f) for the true word, −log σ(−f) = −log(1 − σ(f)) for noise; the floor keeps a saturated
    // logit finite (it then contributes ~69, not Infinity, to the reported mean).
    loss -= Math.log(Math.max(label ? sig : 1 - sig, 1e-30)); // (3)
    const g = (label - sig) * lr; // (4)
    // (5), with neu1e = Σ g·u read before u's own update
    for (let d = 0; d < dim; d++) {
      const u = syn1[outOff + d]!;
      neu1e[d] = neu1e[d]! + g * u;
      syn1[outOff + d] = u + g * input[inOff + d]!;
    }
  }
  return loss;
}

/**
 * A skip-gram step for one (centre, context) pair: input row `context` of syn0, targets[0] = centre.
 * Returns L; syn0's row gets −lr·∂L/∂h, the target rows of syn1 get −lr·∂L/∂u.
 */
export function skipGramStep(
  syn0: Float32Array,
  syn1: Float32Array,
  context: number,
  targets: ArrayLike<number>,
  nTargets: number,
  dim: number,
  lr: number,
  neu1e: Float32Array,
): number {
  neu1e.fill(0);
  const loss = negativeSamplingStep(syn0, context * dim, syn1, targets, nTargets, dim, lr, neu1e);
  const off = context * dim;
  for (let d = 0; d < dim; d++) syn0[off + d] = syn0[off + d]! + neu1e[d]!;
  return loss;
}

/**
 * A CBOW step: h = mean (or sum) of syn0's rows `contexts[0..nContexts)`, targets[0] = centre. Each context
 * row then gets −lr·∂L/∂h: for the sum that is the exact gradient; for the mean the exact one would be
 * 1/c of it, and word2vec.c and gensim (cbow_mean=1) apply the whole of it, as this does, so one lr
 * means the same for both.
 */
export function cbowStep(
  syn0: Float32Array,
  syn1: Float32Array,
  contexts: ArrayLike<number>,
  nContexts: number,
  targets: ArrayLike<number>,
  nTargets: number,
  dim: number,
  lr: number,
  mean: boolean,
  neu1: Float32Array,
  neu1e: Float32Array,
): number {
  neu1.fill(0);
  for (let c = 0; c < nContexts; c++) {
    const off = contexts[c]! * dim;
    for (let d = 0; d < dim; d++) neu1[d] = neu1[d]! + syn0[off + d]!;
  }
  if (mean) for (let d = 0; d < dim; d++) neu1[d] = neu1[d]! / nContexts;
  neu1e.fill(0);
  const loss = negativeSamplingStep(neu1, 0, syn1, targets, nTargets, dim, lr, neu1e);
  for (let c = 0; c < nContexts; c++) {
    const off = contexts[c]! * dim;
    for (let d = 0; d < dim; d++) syn0[off + d] = syn0[off + d]! + neu1e[d]!;
  }
  return loss;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new Word2VecError(`Word2Vec: ${name} must be a positive integer (got ${v})`);
  return v;
}

function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new Word2VecError(
      `Word2Vec: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${v})`,
    );
  return v;
}

const NOISE_TABLE_SIZE = 10_000_000;

export class Word2Vec {
  readonly mode: Word2VecMode;
  readonly dim: number;
  readonly window: number;
  readonly negative: number;
  readonly minCount: number;
  readonly epochs: number;
  readonly seed: number;
  readonly alpha: number;
  readonly minAlpha: number;
  readonly sample: number;
  readonly cbowMean: boolean;
  readonly maxVocab: number;
  readonly engine: Word2VecEngine;
  readonly batchSize: number;
  /** The engine the last `train` ran on. */
  engineUsed?: 'js' | 'wasm-simd' | 'tfjs';
  /** Vocabulary, most frequent first (the row order of the vectors and of the saved file). */
  words: string[] = [];
  counts: number[] = [];
  /** One entry per progress report: corpus words processed so far and the mean loss since the last one. */
  readonly lossHistory: { words: number; loss: number }[] = [];
  /** Mean loss per prediction of each epoch. */
  readonly epochLoss: number[] = [];
  /** Words per second of the last `train` call. */
  wordsPerSecond = 0;
  private index = new Map<string, number>();
  private vectors?: tf.Tensor2D;
  private unit?: tf.Tensor2D;

  constructor(opts: Word2VecOptions = {}) {
    this.mode = opts.mode ?? 'cbow';
    if (this.mode !== 'cbow' && this.mode !== 'skipgram')
      throw new Word2VecError(`Word2Vec: mode must be 'cbow' or 'skipgram' (got ${String(this.mode)})`);
    this.dim = positiveInt('dim', opts.dim ?? 100);
    this.window = positiveInt('window', opts.window ?? 5);
    this.negative = positiveInt('negative', opts.negative ?? 5);
    this.minCount = positiveInt('minCount', opts.minCount ?? 5);
    this.epochs = positiveInt('epochs', opts.epochs ?? 5);
    this.seed = opts.seed ?? 1;
    this.alpha = positive('alpha', opts.alpha ?? 0.025);
    this.minAlpha = positive('minAlpha', opts.minAlpha ?? 1e-4, true);
    this.sample = positive('sample', opts.sample ?? 1e-3, true);
    this.cbowMean = opts.cbowMean ?? true;
    this.maxVocab =
      opts.maxVocab === undefined ? Number.POSITIVE_INFINITY : positiveInt('maxVocab', opts.maxVocab);
    this.engine = opts.engine ?? 'auto';
    if (!['auto', 'js', 'wasm-simd', 'tfjs'].includes(this.engine))
      throw new Word2VecError(
        `Word2Vec: engine must be 'auto', 'js', 'wasm-simd' or 'tfjs' (got ${String(this.engine)})`,
      );
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? 1024);
  }

  get vocabSize(): number {
    return this.words.length;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  /**
   * Builds the vocabulary from `sentences` and trains. An iterable that can only be read once is read
   * once: its sentences are kept (as word ids) for the epochs.
   */
  async train(sentences: Sentences, callbacks: TrainCallbacks = {}): Promise<void> {
    const raw: (readonly string[])[] = [];
    const counts = new Map<string, number>();
    for await (const s of sentences as AsyncIterable<readonly string[]>) {
      if (!Array.isArray(s))
        throw new Word2VecError('Word2Vec.train: each sentence must be an array of tokens');
      raw.push(s);
      for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    // Most frequent first; ties in first-seen order (Map order), so the vocabulary is deterministic.
    const vocab = [...counts].filter(([, c]) => c >= this.minCount).sort((a, b) => b[1] - a[1]);
    if (vocab.length > this.maxVocab) vocab.length = this.maxVocab;
    if (vocab.length === 0)
      throw new Word2VecError(
        `Word2Vec.train: no word occurs minCount=${this.minCount} times; nothing to learn`,
      );
    this.words = vocab.map(([w]) => w);
    this.counts = vocab.map(([, c]) => c);
    this.index = new Map(this.words.map((w, i) => [w, i]));
    let totalWords = 0; // corpus words, counting out-of-vocabulary ones, as gensim's `total_words`
    const corpus: Int32Array[] = [];
    const rawLengths: number[] = [];
    for (const s of raw) {
      totalWords += s.length;
      rawLengths.push(s.length);
      const ids = new Int32Array(s.length);
      let n = 0;
      for (const w of s) {
        const i = this.index.get(w);
        if (i !== undefined) ids[n++] = i;
      }
      corpus.push(ids.subarray(0, n));
    }
    raw.length = 0;
    await this.fit(corpus, rawLengths, totalWords, callbacks);
  }

  private async fit(
    corpus: Int32Array[],
    rawLengths: number[],
    totalWords: number,
    cb: TrainCallbacks,
  ): Promise<void> {
    const { dim, window, negative } = this;
    const V = this.words.length;
    const random = new Random(this.seed);
    const simd = this.engine === 'js' || this.engine === 'tfjs' ? undefined : wasmStepEngine(V, dim);
    if (this.engine === 'wasm-simd' && !simd)
      throw new Word2VecError(
        "Word2Vec: engine 'wasm-simd' asked for, but this runtime has no WebAssembly SIMD",
      );
    const engine =
      this.engine === 'tfjs'
        ? tfjsStepEngine(V, dim, {
            batchSize: this.batchSize,
            maxTargets: negative + 1,
            maxContexts: 2 * window,
          })
        : (simd ?? jsStepEngine(V, dim));
    this.engineUsed = engine.kind;
    try {
      await this.run(engine, corpus, rawLengths, totalWords, cb, random);
    } finally {
      engine.dispose();
    }
  }

  private async run(
    engine: StepEngine,
    corpus: Int32Array[],
    rawLengths: number[],
    totalWords: number,
    cb: TrainCallbacks,
    random: Random,
  ): Promise<void> {
    const { dim, window, negative, epochs } = this;
    const V = this.words.length;
    const { syn0 } = engine;
    // Input vectors start uniform in ±0.5/dim, output vectors at zero (as word2vec.c and gensim).
    for (let i = 0; i < syn0.length; i++) syn0[i] = (random.next() - 0.5) / dim;

    // Noise table: word i fills a share count_i^0.75 / Σ count^0.75 of it, so a uniform index samples it.
    const tableSize = Math.min(NOISE_TABLE_SIZE, Math.max(1_000_000, V * 100));
    const table = new Int32Array(tableSize);
    let z = 0;
    for (const c of this.counts) z += c ** 0.75;
    for (let i = 0, cum = this.counts[0]! ** 0.75 / z, a = 0; a < tableSize; a++) {
      table[a] = i;
      if (a / tableSize > cum && i < V - 1) cum += this.counts[++i]! ** 0.75 / z;
    }
    // Subsampling keep probabilities, gensim's formula with threshold t·(words in vocabulary).
    const retainTotal = this.counts.reduce((a, b) => a + b, 0);
    const keep = new Float32Array(V);
    for (let i = 0; i < V; i++) {
      const f = this.counts[i]!;
      const t = this.sample * retainTotal;
      keep[i] = this.sample > 0 && f > t ? (Math.sqrt(f / t) + 1) * (t / f) : 1;
    }

    const targets = new Int32Array(negative + 1);
    const contexts = new Int32Array(2 * window);
    const sentence = new Int32Array(corpus.reduce((m, s) => Math.max(m, s.length), 0));
    const every = cb.progressEvery ?? 10_000;
    const totalAll = totalWords * epochs;
    let done = 0; // corpus words over all epochs, drives the learning-rate decay
    let nextReport = every;
    let lossSum = 0;
    let lossN = 0;
    let epochLossSum = 0;
    let epochLossN = 0;
    let lr = this.alpha;
    const started = performance.now();
    const report = async (epoch: number) => {
      // The tfjs engine's losses arrive here, for the batches it ran since the last report.
      const pending = await engine.flush();
      lossSum += pending;
      epochLossSum += pending;
      const loss = lossN ? lossSum / lossN : Number.NaN;
      this.lossHistory.push({ words: done, loss });
      cb.onProgress?.({ epoch, epochs, words: done, totalWords: totalAll, loss, alpha: lr });
      lossSum = 0;
      lossN = 0;
    };
    const drawTargets = (centre: number) => {
      targets[0] = centre;
      let n = 1;
      while (n <= negative) {
        const w = table[Math.floor(random.next() * tableSize)]!;
        if (w !== centre) targets[n++] = w; // word2vec.c skips a draw of the target itself
      }
    };

    for (let epoch = 0; epoch < epochs; epoch++) {
      epochLossSum = 0;
      epochLossN = 0;
      for (let si = 0; si < corpus.length; si++) {
        const ids = corpus[si]!;
        let len = 0;
        for (let i = 0; i < ids.length; i++) {
          const w = ids[i]!;
          if (keep[w]! >= 1 || keep[w]! > random.next()) sentence[len++] = w;
        }
        lr = Math.max(this.minAlpha, this.alpha - ((this.alpha - this.minAlpha) * done) / totalAll);
        let sentLoss = 0;
        let sentN = 0;
        for (let pos = 0; pos < len; pos++) {
          const centre = sentence[pos]!;
          const b = Math.floor(random.next() * window); // this position's window is window − b
          const lo = Math.max(0, pos - window + b);
          const hi = Math.min(len, pos + window + 1 - b);
          if (this.mode === 'skipgram') {
            for (let c = lo; c < hi; c++) {
              if (c === pos) continue;
              drawTargets(centre);
              sentLoss += engine.skipGram(sentence[c]!, targets, negative + 1, lr);
              sentN++;
            }
          } else {
            let nc = 0;
            for (let c = lo; c < hi; c++) if (c !== pos) contexts[nc++] = sentence[c]!;
            if (nc === 0) continue;
            drawTargets(centre);
            sentLoss += engine.cbow(contexts, nc, targets, negative + 1, lr, this.cbowMean);
            sentN++;
          }
        }
        lossSum += sentLoss;
        lossN += sentN;
        epochLossSum += sentLoss;
        epochLossN += sentN;
        // gensim counts the raw sentence (out-of-vocabulary and subsampled words included) as progress.
        done += rawLengths[si]!;
        if (done >= nextReport) {
          await report(epoch + 1);
          nextReport = done + every;
          // Give timers (a progress bar's redraw, an abort) a turn between reports.
          await new Promise((r) => setImmediate(r));
        }
      }
      if (lossN > 0) await report(epoch + 1);
      const mean = epochLossN ? epochLossSum / epochLossN : Number.NaN;
      this.epochLoss.push(mean);
      cb.onEpochEnd?.(epoch + 1, mean);
    }
    // A copy: the engine's arrays may be views on the kernel's memory, or tf.Variables it disposes.
    const vectors = await engine.result();
    this.wordsPerSecond = totalAll / ((performance.now() - started) / 1000);
    this.setVectors(vectors);
  }

  private setVectors(data: Float32Array): void {
    this.vectors?.dispose();
    this.unit?.dispose();
    const V = this.words.length;
    this.vectors = tf.tensor2d(data, [V, this.dim]);
    // Unit rows, so that cosine similarity with every word is one matMul.
    this.unit = tf.tidy(() => {
      const norm = tf.maximum(tf.norm(this.vectors!, 'euclidean', 1, true), 1e-12);
      return tf.div(this.vectors!, norm) as tf.Tensor2D;
    });
  }

  private trained(where: string): { vectors: tf.Tensor2D; unit: tf.Tensor2D } {
    if (!this.vectors || !this.unit)
      throw new Word2VecError(`Word2Vec.${where}: train or load the model first`);
    return { vectors: this.vectors, unit: this.unit };
  }

  private id(word: string, where: string): number {
    const i = this.index.get(word);
    if (i === undefined) throw new Word2VecError(`Word2Vec.${where}: "${word}" is not in the vocabulary`);
    return i;
  }

  /** The learned (input) vector of `word`. */
  vector(word: string): Float32Array {
    const { vectors } = this.trained('vector');
    const i = this.id(word, 'vector');
    return tf.tidy(() => tf.slice(vectors, [i, 0], [1, this.dim]).dataSync() as Float32Array);
  }

  /** The k words most similar (cosine) to a word, which is left out, or to a vector. */
  async mostSimilar(wordOrVector: string | ArrayLike<number>, k = 10): Promise<Neighbour[]> {
    const exclude = typeof wordOrVector === 'string' ? [this.id(wordOrVector, 'mostSimilar')] : [];
    const v = typeof wordOrVector === 'string' ? this.vector(wordOrVector) : Float32Array.from(wordOrVector);
    return this.nearest(v, k, exclude, 'mostSimilar');
  }

  /** a is to b as c is to ?: the words nearest to unit(b) − unit(a) + unit(c), a, b and c left out (as gensim). */
  async analogy(a: string, b: string, c: string, k = 1): Promise<Neighbour[]> {
    const { unit } = this.trained('analogy');
    const ids = [this.id(a, 'analogy'), this.id(b, 'analogy'), this.id(c, 'analogy')];
    const query = tf.tidy(() => {
      const rows = tf.gather(unit, ids);
      return tf.matMul(tf.tensor2d([[-1, 1, 1]]), rows).dataSync() as Float32Array;
    });
    return this.nearest(query, k, ids, 'analogy');
  }

  private async nearest(v: Float32Array, k: number, exclude: number[], where: string): Promise<Neighbour[]> {
    const { unit } = this.trained(where);
    if (v.length !== this.dim)
      throw new Word2VecError(`Word2Vec.${where}: vector has ${v.length} values, not dim=${this.dim}`);
    const V = this.words.length;
    const want = Math.min(V, Math.max(0, Math.floor(k)) + exclude.length);
    if (want === 0) return [];
    const { values, indices } = tf.tidy(() => {
      const q = tf.tensor2d(v, [this.dim, 1]);
      const qn = tf.div(q, tf.maximum(tf.norm(q), 1e-12));
      const scores = tf.reshape(tf.matMul(unit, qn), [V]);
      return tf.topk(scores, want);
    });
    const [s, i] = await Promise.all([values.data(), indices.data()]);
    values.dispose();
    indices.dispose();
    const out: Neighbour[] = [];
    for (let j = 0; j < i.length && out.length < k; j++) {
      if (exclude.includes(i[j]!)) continue;
      out.push({ word: this.words[i[j]!]!, score: s[j]! });
    }
    return out;
  }

  /** word2vec text format: `<count> <dim>`, then one `word v1 … v_dim` line per word, most frequent first. */
  async save(file: string): Promise<void> {
    const { vectors } = this.trained('save');
    const data = await vectors.data();
    const lines = [`${this.words.length} ${this.dim}`];
    for (let i = 0; i < this.words.length; i++) {
      const row: string[] = [this.words[i]!];
      for (let d = 0; d < this.dim; d++) row.push(String(data[i * this.dim + d]));
      lines.push(row.join(' '));
    }
    await atomicWriteFile(file, `${lines.join('\n')}\n`);
  }

  /** Reads word2vec text format (as gensim's `save_word2vec_format(binary=False)` writes it). */
  static async load(file: string, opts: Omit<Word2VecOptions, 'dim'> = {}): Promise<Word2Vec> {
    const { readFile } = node.fsp;
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
    const bad = (line: number, what: string) => new Word2VecError(`${file}:${line}: ${what}`);
    const header = (lines[0] ?? '').trim().split(/\s+/);
    const [count, dim] = header.map(Number);
    if (header.length !== 2 || !Number.isInteger(count) || !Number.isInteger(dim) || count! < 1 || dim! < 1)
      throw bad(1, `header must be "<count> <dim>" (got "${lines[0] ?? ''}")`);
    if (lines.length - 1 !== count)
      throw bad(1, `header says ${count} words but the file has ${lines.length - 1}`);
    const model = new Word2Vec({ ...opts, dim: dim! });
    const data = new Float32Array(count! * dim!);
    const words: string[] = [];
    for (let i = 0; i < count!; i++) {
      const parts = lines[i + 1]!.trimEnd().split(' ');
      if (parts.length !== dim! + 1)
        throw bad(i + 2, `expected a word and ${dim} numbers, got ${parts.length} fields`);
      const word = parts[0]!;
      if (model.index.has(word)) throw bad(i + 2, `"${word}" appears twice`);
      model.index.set(word, i);
      words.push(word);
      for (let d = 0; d < dim!; d++) {
        const x = Number(parts[d + 1]);
        if (!Number.isFinite(x)) throw bad(i + 2, `"${parts[d + 1]}" is not a number`);
        data[i * dim! + d] = x;
      }
    }
    model.words = words;
    model.counts = [];
    model.setVectors(data);
    return model;
  }

  dispose(): void {
    this.vectors?.dispose();
    this.unit?.dispose();
    this.vectors = undefined;
    this.unit = undefined;
  }
}
