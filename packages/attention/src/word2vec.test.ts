import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Random, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { Word2Vec, Word2VecError } from './index.js';
import { cbowStep, skipGramStep } from './word2vec.js';
import { jsStepEngine, wasmStepEngine } from './word2vec-kernel.js';
import { tfjsStepEngine } from './word2vec-tfjs.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const rows = (m: Float32Array, dim: number) =>
  Array.from({ length: m.length / dim }, (_, i) => Array.from(m.subarray(i * dim, (i + 1) * dim)));

// A 4-word vocabulary with dim 3; the values are arbitrary but not symmetric, so a swapped index shows.
const DIM = 3;
const SYN0 = [
  [0.1, -0.2, 0.3],
  [0.4, 0.0, -0.1],
  [-0.3, 0.2, 0.5],
  [0.2, 0.1, -0.4],
];
const SYN1 = [
  [0.05, 0.3, -0.2],
  [-0.1, 0.2, 0.4],
  [0.3, -0.3, 0.1],
  [0.2, 0.25, 0.15],
];
const flat = (m: number[][]) => Float32Array.from(m.flat());

describe('Word2Vec gradients, by hand on a 4-word vocabulary', () => {
  it('skip-gram: input = context word 2, true target 1, noise 3 and 0', () => {
    const [syn0, syn1] = [flat(SYN0), flat(SYN1)];
    const lr = 0.5;
    const loss = skipGramStep(syn0, syn1, 2, Int32Array.from([1, 3, 0]), 3, DIM, lr, new Float32Array(DIM));
    const h = SYN0[2]!;
    const [fo, f3, f0] = [dot(SYN1[1]!, h), dot(SYN1[3]!, h), dot(SYN1[0]!, h)];
    // L = −log σ(u₁·h) − log σ(−u₃·h) − log σ(−u₀·h)
    expect(loss).toBeCloseTo(-Math.log(sigmoid(fo)) - Math.log(sigmoid(-f3)) - Math.log(sigmoid(-f0)), 5);
    // ∂L/∂h = (σ(u₁·h) − 1)u₁ + σ(u₃·h)u₃ + σ(u₀·h)u₀, each component written out.
    const dh = [0, 1, 2].map(
      (d) => (sigmoid(fo) - 1) * SYN1[1]![d]! + sigmoid(f3) * SYN1[3]![d]! + sigmoid(f0) * SYN1[0]![d]!,
    );
    const du1 = h.map((x) => (sigmoid(fo) - 1) * x);
    const du3 = h.map((x) => sigmoid(f3) * x);
    const du0 = h.map((x) => sigmoid(f0) * x);
    const [r0, r1] = [rows(syn0, DIM), rows(syn1, DIM)];
    for (let d = 0; d < DIM; d++) {
      expect(r0[2]![d]).toBeCloseTo(h[d]! - lr * dh[d]!, 6);
      expect(r1[1]![d]).toBeCloseTo(SYN1[1]![d]! - lr * du1[d]!, 6);
      expect(r1[3]![d]).toBeCloseTo(SYN1[3]![d]! - lr * du3[d]!, 6);
      expect(r1[0]![d]).toBeCloseTo(SYN1[0]![d]! - lr * du0[d]!, 6);
    }
    // Rows that took no part are untouched.
    expect(r0[0]).toEqual(Array.from(Float32Array.from(SYN0[0]!)));
    expect(r1[2]).toEqual(Array.from(Float32Array.from(SYN1[2]!)));
  });

  for (const mean of [true, false]) {
    it(`CBOW (${mean ? 'mean' : 'sum'}): contexts 0 and 3 predict 2 against noise 1`, () => {
      const [syn0, syn1] = [flat(SYN0), flat(SYN1)];
      const lr = 0.5;
      const n = mean ? 2 : 1;
      const loss = cbowStep(
        syn0,
        syn1,
        Int32Array.from([0, 3]),
        2,
        Int32Array.from([2, 1]),
        2,
        DIM,
        lr,
        mean,
        new Float32Array(DIM),
        new Float32Array(DIM),
      );
      const h = [0, 1, 2].map((d) => (SYN0[0]![d]! + SYN0[3]![d]!) / n);
      const [fo, f1] = [dot(SYN1[2]!, h), dot(SYN1[1]!, h)];
      expect(loss).toBeCloseTo(-Math.log(sigmoid(fo)) - Math.log(sigmoid(-f1)), 5);
      const dh = [0, 1, 2].map((d) => (sigmoid(fo) - 1) * SYN1[2]![d]! + sigmoid(f1) * SYN1[1]![d]!);
      const [r0, r1] = [rows(syn0, DIM), rows(syn1, DIM)];
      for (let d = 0; d < DIM; d++) {
        // Both context rows get −lr·∂L/∂h (word2vec.c's update; for the sum it is the exact ∂L/∂v_c).
        expect(r0[0]![d]).toBeCloseTo(SYN0[0]![d]! - lr * dh[d]!, 6);
        expect(r0[3]![d]).toBeCloseTo(SYN0[3]![d]! - lr * dh[d]!, 6);
        expect(r1[2]![d]).toBeCloseTo(SYN1[2]![d]! - lr * (sigmoid(fo) - 1) * h[d]!, 6);
        expect(r1[1]![d]).toBeCloseTo(SYN1[1]![d]! - lr * sigmoid(f1) * h[d]!, 6);
      }
    });
  }

  it('the hand-written step equals tf.grad of the same objective written in tfjs ops', async () => {
    const [syn0, syn1] = [flat(SYN0), flat(SYN1)];
    const lr = 1;
    skipGramStep(syn0, syn1, 2, Int32Array.from([1, 3, 0]), 3, DIM, lr, new Float32Array(DIM));
    await expectNoLeaks(() => {
      const { dh, du } = tf.tidy(() => {
        const h0 = tf.tensor1d(SYN0[2]!);
        const u0 = tf.tensor2d([SYN1[1]!, SYN1[3]!, SYN1[0]!]);
        const labels = tf.tensor1d([1, -1, -1]);
        const loss = (h: tf.Tensor, u: tf.Tensor) =>
          tf.neg(
            tf.sum(
              tf.log(tf.sigmoid(tf.mul(labels, tf.reshape(tf.matMul(u, tf.reshape(h, [DIM, 1])), [3])))),
            ),
          );
        const [gh, gu] = tf.grads(loss)([h0, u0]);
        return { dh: gh!.arraySync() as number[], du: gu!.arraySync() as number[][] };
      });
      const [r0, r1] = [rows(syn0, DIM), rows(syn1, DIM)];
      for (let d = 0; d < DIM; d++) {
        expect(r0[2]![d]).toBeCloseTo(SYN0[2]![d]! - dh[d]!, 5);
        expect(r1[1]![d]).toBeCloseTo(SYN1[1]![d]! - du[0]![d]!, 5);
        expect(r1[3]![d]).toBeCloseTo(SYN1[3]![d]! - du[1]![d]!, 5);
        expect(r1[0]![d]).toBeCloseTo(SYN1[0]![d]! - du[2]![d]!, 5);
      }
    }, 'tf.grad cross-check');
  });
});

describe('the WebAssembly SIMD engine', () => {
  for (const dim of [3, 8, 7]) {
    it(`makes the Float32Array loop's updates (checked by hand above), dim ${dim}`, () => {
      const simd = wasmStepEngine(5, dim);
      expect(simd, 'this Node has WebAssembly SIMD').toBeDefined();
      const js = jsStepEngine(5, dim);
      const random = new Random(dim);
      for (let i = 0; i < 5 * dim; i++) {
        js.syn0[i] = simd!.syn0[i] = random.next() - 0.5;
        js.syn1[i] = simd!.syn1[i] = random.next() - 0.5;
      }
      const targets = Int32Array.from([2, 4, 0]);
      const steps: [number, number][] = [
        [js.skipGram(1, targets, 3, 0.3), simd!.skipGram(1, targets, 3, 0.3)],
        [
          js.cbow(Int32Array.from([0, 3, 4]), 3, targets, 3, 0.3, true),
          simd!.cbow(Int32Array.from([0, 3, 4]), 3, targets, 3, 0.3, true),
        ],
        [
          js.cbow(Int32Array.from([1, 3]), 2, targets, 3, 0.3, false),
          simd!.cbow(Int32Array.from([1, 3]), 2, targets, 3, 0.3, false),
        ],
      ];
      for (const [a, b] of steps) expect(b).toBeCloseTo(a, 5);
      for (let i = 0; i < 5 * dim; i++) {
        expect(simd!.syn0[i]).toBeCloseTo(js.syn0[i]!, 6);
        expect(simd!.syn1[i]).toBeCloseTo(js.syn1[i]!, 6);
      }
    });
  }

  it("training with engine 'js' and 'wasm-simd' gives nearly the same vectors", async () => {
    const corpus = plantedCorpus(2, 5, 100, 1);
    const opts = { dim: 8, minCount: 1, epochs: 1, seed: 4, sample: 0 };
    const [a, b] = [new Word2Vec({ ...opts, engine: 'js' }), new Word2Vec({ ...opts, engine: 'wasm-simd' })];
    await a.train(corpus);
    await b.train(corpus);
    expect([a.engineUsed, b.engineUsed]).toEqual(['js', 'wasm-simd']);
    const [va, vb] = [a.vector('t0w1'), b.vector('t0w1')];
    for (let d = 0; d < 8; d++) expect(vb[d]).toBeCloseTo(va[d]!, 4);
    a.dispose();
    b.dispose();
  });
});

/**
 * One example's update by hand from SYN0/SYN1, formulas (1)–(5) of word2vec.ts: h = Σ w·v_c, f_t = u_t·h,
 * g_t = (label − σ(f_t))·lr, Δu_t = g_t·h, and every context row gets Δh = Σ_t g_t·u_t.
 */
function handDelta(contexts: number[], targets: number[], lr: number, mean: boolean) {
  const d0 = SYN0.map((r) => r.map(() => 0));
  const d1 = SYN1.map((r) => r.map(() => 0));
  const w = mean ? 1 / contexts.length : 1;
  const h = [0, 1, 2].map((d) => contexts.reduce((s, c) => s + w * SYN0[c]![d]!, 0));
  let loss = 0;
  const dh = [0, 0, 0];
  targets.forEach((t, i) => {
    const label = i === 0 ? 1 : 0;
    const f = dot(SYN1[t]!, h);
    loss -= Math.log(label ? sigmoid(f) : 1 - sigmoid(f));
    const g = (label - sigmoid(f)) * lr;
    for (let d = 0; d < DIM; d++) {
      d1[t]![d]! += g * h[d]!;
      dh[d]! += g * SYN1[t]![d]!;
    }
  });
  for (const c of contexts) for (let d = 0; d < DIM; d++) d0[c]![d]! += dh[d]!;
  return { d0, d1, loss };
}

function expectRows(got: Float32Array, start: number[][], deltas: number[][][], digits: number) {
  const r = rows(got, DIM);
  for (let i = 0; i < start.length; i++)
    for (let d = 0; d < DIM; d++) {
      const want = start[i]![d]! + deltas.reduce((s, x) => s + x[i]![d]!, 0);
      expect(r[i]![d], `row ${i}, component ${d}`).toBeCloseTo(want, digits);
    }
}

describe('the tfjs engine (batched tensor ops on the active backend)', () => {
  const engineFor = (batchSize: number) => {
    const e = tfjsStepEngine(4, DIM, { batchSize, maxTargets: 3, maxContexts: 4 });
    e.syn0.set(flat(SYN0));
    e.syn1.set(flat(SYN1));
    return e;
  };

  it("a batch of one skip-gram example makes the js engine's update (1e-6)", async () => {
    await expectNoLeaks(async () => {
      const e = engineFor(1);
      const [syn0, syn1] = [flat(SYN0), flat(SYN1)];
      const targets = Int32Array.from([1, 3, 0]);
      const jsLoss = skipGramStep(syn0, syn1, 2, targets, 3, DIM, 0.5, new Float32Array(DIM));
      expect(e.skipGram(2, targets, 3, 0.5)).toBe(0); // queued: its loss comes from flush
      expect(await e.flush()).toBeCloseTo(jsLoss, 5);
      const got = await e.read();
      for (let i = 0; i < syn0.length; i++) {
        expect(Math.abs(got.syn0[i]! - syn0[i]!)).toBeLessThan(1e-6);
        expect(Math.abs(got.syn1[i]! - syn1[i]!)).toBeLessThan(1e-6);
      }
      expect(await e.flush()).toBe(0); // flush resets the loss
      e.dispose();
    }, 'tfjs skip-gram batch of 1');
  });

  for (const mean of [true, false]) {
    it(`a batch of one CBOW (${mean ? 'mean' : 'sum'}) example makes the js engine's update (1e-6)`, async () => {
      await expectNoLeaks(async () => {
        const e = engineFor(1);
        const [syn0, syn1] = [flat(SYN0), flat(SYN1)];
        const [ctx, targets] = [Int32Array.from([0, 3, 1]), Int32Array.from([2, 1, 0])];
        const n = [new Float32Array(DIM), new Float32Array(DIM)] as const;
        const jsLoss = cbowStep(syn0, syn1, ctx, 3, targets, 3, DIM, 0.5, mean, ...n);
        e.cbow(ctx, 3, targets, 3, 0.5, mean);
        expect(await e.flush()).toBeCloseTo(jsLoss, 5);
        const got = await e.read();
        for (let i = 0; i < syn0.length; i++) {
          expect(Math.abs(got.syn0[i]! - syn0[i]!)).toBeLessThan(1e-6);
          expect(Math.abs(got.syn1[i]! - syn1[i]!)).toBeLessThan(1e-6);
        }
        e.dispose();
      }, 'tfjs CBOW batch of 1');
    });
  }

  it("a skip-gram batch with repeated rows adds both examples' updates (scatter-add sums)", async () => {
    await expectNoLeaks(async () => {
      const e = engineFor(2);
      // Both examples read context row 2 and target rows 1, 3 and 0: each row gets the sum of two updates,
      // both computed from the matrices as they were before the batch.
      e.skipGram(2, Int32Array.from([1, 3, 0]), 3, 0.5);
      e.skipGram(2, Int32Array.from([3, 1, 0]), 3, 0.25); // its own lr, and row 3 as the true word
      const a = handDelta([2], [1, 3, 0], 0.5, true);
      const b = handDelta([2], [3, 1, 0], 0.25, true);
      expect(await e.flush()).toBeCloseTo(a.loss + b.loss, 5);
      const got = await e.read();
      expectRows(got.syn0, SYN0, [a.d0, b.d0], 6);
      expectRows(got.syn1, SYN1, [a.d1, b.d1], 6);
      e.dispose();
    }, 'tfjs skip-gram batch of 2');
  });

  it('a CBOW batch sums the updates of a context word repeated within and across examples', async () => {
    await expectNoLeaks(async () => {
      const e = engineFor(4);
      // Row 0 is a context twice in the first example and once in the second; padding (the second
      // example has 2 of 4 context slots) must add nothing to row 0, which it reads with weight 0.
      e.cbow(Int32Array.from([0, 0, 3]), 3, Int32Array.from([2, 1, 3]), 3, 0.5, true);
      e.cbow(Int32Array.from([0, 1]), 2, Int32Array.from([3, 2, 1]), 3, 0.5, true);
      const a = handDelta([0, 0, 3], [2, 1, 3], 0.5, true);
      const b = handDelta([0, 1], [3, 2, 1], 0.5, true);
      expect(await e.flush()).toBeCloseTo(a.loss + b.loss, 5);
      const got = await e.read();
      expectRows(got.syn0, SYN0, [a.d0, b.d0], 6);
      expectRows(got.syn1, SYN1, [a.d1, b.d1], 6);
      e.dispose();
    }, 'tfjs CBOW batch of 2');
  });

  it("training with engine 'tfjs' and batchSize 1 follows the js engine's training", async () => {
    const corpus = plantedCorpus(2, 5, 60, 1);
    // The same random stream draws the same examples. One noise word, never the centre, keeps each
    // example's rows distinct: a repeated noise row is read after its first update by js, before it by tfjs.
    const opts = { dim: 8, minCount: 1, epochs: 1, seed: 4, sample: 0, negative: 1 };
    const before = tf.memory().numTensors;
    const [a, b] = [
      new Word2Vec({ ...opts, engine: 'js' }),
      new Word2Vec({ ...opts, engine: 'tfjs', batchSize: 1 }),
    ];
    await a.train(corpus);
    await b.train(corpus);
    expect(b.engineUsed).toBe('tfjs');
    for (const w of ['t0w1', 't1w3']) {
      const [va, vb] = [a.vector(w), b.vector(w)];
      for (let d = 0; d < 8; d++) expect(Math.abs(vb[d]! - va[d]!)).toBeLessThan(1e-6);
    }
    expect(b.epochLoss[0]).toBeCloseTo(a.epochLoss[0]!, 4);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 30_000);
});

/** Sentences of 10 words, each drawn from one of `topics` disjoint topics of `size` words. */
function plantedCorpus(topics: number, size: number, sentences: number, seed: number): string[][] {
  const random = new Random(seed);
  return Array.from({ length: sentences }, () => {
    const t = random.int(0, topics);
    return Array.from({ length: 10 }, () => `t${t}w${random.int(0, size)}`);
  });
}

async function precisionAt5(model: Word2Vec): Promise<number> {
  let hits = 0;
  let total = 0;
  for (const w of model.words) {
    const topic = w.split('w')[0];
    for (const n of await model.mostSimilar(w, 5)) {
      total++;
      if (n.word.split('w')[0] === topic) hits++;
    }
  }
  return hits / total;
}

describe('Word2Vec on a corpus with planted topics', () => {
  const corpus = plantedCorpus(4, 10, 1500, 7);
  for (const mode of ['cbow', 'skipgram'] as const) {
    it(`${mode} on the tfjs engine (batches of 512): precision@5 ≥ 0.9, no tensors left`, async () => {
      const before = tf.memory().numTensors;
      const model = new Word2Vec({
        mode,
        dim: 16,
        window: 4,
        negative: 5,
        minCount: 1,
        epochs: 3,
        sample: 0,
        seed: 3,
        engine: 'tfjs',
        batchSize: 512,
      });
      await model.train(corpus, { progressEvery: 3000 });
      expect(model.engineUsed).toBe('tfjs');
      expect(await precisionAt5(model)).toBeGreaterThanOrEqual(0.9);
      // The losses of the queued batches reach the reports and the epochs (flush), and they fall.
      expect(model.lossHistory.every((h) => Number.isFinite(h.loss) && h.loss > 0)).toBe(true);
      expect(model.epochLoss[2]!).toBeLessThan(model.epochLoss[0]!);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 30_000);

    it(`${mode}: every word's five nearest neighbours are in its own topic (precision@5 ≥ 0.9)`, async () => {
      const before = tf.memory().numTensors;
      const model = new Word2Vec({
        mode,
        dim: 16,
        window: 4,
        negative: 5,
        minCount: 1,
        epochs: 3,
        sample: 0,
        seed: 3,
      });
      const reports: number[] = [];
      await model.train(corpus, { onProgress: (p) => reports.push(p.words), progressEvery: 3000 });
      expect(model.vocabSize).toBe(40);
      const p5 = await precisionAt5(model);
      expect(p5).toBeGreaterThanOrEqual(0.9);
      // Progress counts every corpus word once per epoch, and the loss falls from the first epoch.
      expect(reports[reports.length - 1]).toBe(3 * 15_000);
      expect(model.lossHistory.length).toBe(reports.length);
      expect(model.epochLoss[2]!).toBeLessThan(model.epochLoss[0]!);
      // Chance is 9/39 for the same topic; a model that learned nothing sits near it.
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 60_000);
  }

  it('the same seed gives the same vectors; an async iterable trains like the array', async () => {
    const small = corpus.slice(0, 200);
    async function* stream() {
      for (const s of small) yield s;
    }
    const opts = { mode: 'skipgram' as const, dim: 8, minCount: 1, epochs: 1, seed: 11 };
    const a = new Word2Vec(opts);
    const b = new Word2Vec(opts);
    await a.train(small);
    await b.train(stream());
    expect(Array.from(b.vector('t0w1'))).toEqual(Array.from(a.vector('t0w1')));
    const c = new Word2Vec({ ...opts, seed: 12 });
    await c.train(small);
    expect(Array.from(c.vector('t0w1'))).not.toEqual(Array.from(a.vector('t0w1')));
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('Word2Vec queries, files and errors', () => {
  it('mostSimilar and analogy are cosine over unit vectors, by hand on a 4-word file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w2v-'));
    const file = join(dir, 'v.txt');
    // king − man + woman = (1,1) − (1,0) + (0,1)·… : with unit rows the query is (0, 1)+(…) computed below.
    await writeFile(file, '4 2\nking 1 1\nman 1 0\nwoman 0 1\nqueen 0 2\n');
    const before = tf.memory().numTensors;
    const m = await Word2Vec.load(file);
    expect(Array.from(m.vector('queen'))).toEqual([0, 2]);
    const sim = await m.mostSimilar('man', 3);
    // cos(man, king) = 1/√2, cos(man, woman) = cos(man, queen) = 0
    expect(sim[0]!.word).toBe('king');
    expect(sim[0]!.score).toBeCloseTo(Math.SQRT1_2, 5);
    expect(sim.map((n) => n.word)).not.toContain('man');
    // unit(king) − unit(man) + unit(woman) = (1/√2 − 1, 1/√2 + 1); cos with queen (0,1) = 1.7071/|q|.
    const q = [Math.SQRT1_2 - 1, Math.SQRT1_2 + 1];
    const [best] = await m.analogy('man', 'king', 'woman', 1);
    expect(best!.word).toBe('queen');
    expect(best!.score).toBeCloseTo(q[1]! / Math.hypot(q[0]!, q[1]!), 5);
    const byVector = await m.mostSimilar([1, 0], 1);
    expect(byVector[0]).toEqual({ word: 'man', score: expect.closeTo(1, 5) });
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('save writes word2vec text format that load (and gensim, when installed) reads back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w2v-'));
    const file = join(dir, 'vectors.txt');
    const m = new Word2Vec({ dim: 4, minCount: 1, epochs: 1, seed: 5 });
    await m.train([
      ['a', 'b', 'c', 'a'],
      ['b', 'a', 'd'],
    ]);
    await m.save(file);
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toBe('4 4');
    expect(text.split('\n')[1]!.split(' ')[0]).toBe('a'); // most frequent first
    const back = await Word2Vec.load(file);
    expect(back.words).toEqual(m.words);
    expect(Array.from(back.vector('d'))).toEqual(Array.from(m.vector('d')));
    const python = ['/usr/bin/python3', 'python3'].find((p) => {
      try {
        execFileSync(p, ['-c', 'import gensim'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    if (!python) {
      if (process.env.CI === 'true') throw new Error('CI needs python3-gensim (Debian) for this check');
      console.warn('skipped: gensim is not installed (apt-get install python3-gensim)');
    } else {
      const out = execFileSync(python, [
        '-c',
        'import sys; from gensim.models import KeyedVectors as K; kv = K.load_word2vec_format(sys.argv[1]); print(len(kv), kv.vector_size, " ".join(repr(float(x)) for x in kv["d"]))',
        file,
      ]).toString();
      const [n, dim, ...d] = out.trim().split(' ');
      expect([n, dim]).toEqual(['4', '4']);
      expect(d.map(Number)).toEqual(Array.from(m.vector('d')));
    }
    m.dispose();
    back.dispose();
  }, 30_000);

  it('bad files and bad calls throw Word2VecError naming the file, line or field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w2v-'));
    const cases: [string, RegExp][] = [
      ['two\n', /bad\.txt:1: header/],
      ['2 2\na 1 2\n', /bad\.txt:1: header says 2 words but the file has 1/],
      ['1 2\na 1\n', /bad\.txt:2: expected a word and 2 numbers/],
      ['1 2\na 1 x\n', /bad\.txt:2: "x" is not a number/],
      ['2 1\na 1\na 2\n', /bad\.txt:3: "a" appears twice/],
    ];
    for (const [text, message] of cases) {
      const file = join(dir, 'bad.txt');
      await writeFile(file, text);
      await expect(Word2Vec.load(file)).rejects.toThrow(message);
      await expect(Word2Vec.load(file)).rejects.toBeInstanceOf(Word2VecError);
    }
    expect(existsSync(join(dir, 'bad.txt'))).toBe(true);
    expect(() => new Word2Vec({ dim: 0 })).toThrow(/dim must be a positive integer/);
    expect(() => new Word2Vec({ mode: 'glove' as 'cbow' })).toThrow(/mode must be/);
    const m = new Word2Vec({ minCount: 1, dim: 2, epochs: 1 });
    expect(() => m.vector('a')).toThrow(/train or load the model first/);
    await expect(m.train([['a'], 'b' as unknown as string[]])).rejects.toThrow(/array of tokens/);
    await m.train([['a', 'b']]);
    expect(() => m.vector('zzz')).toThrow(/"zzz" is not in the vocabulary/);
    await expect(m.mostSimilar([1, 2, 3])).rejects.toThrow(/3 values, not dim=2/);
    await expect(new Word2Vec({ minCount: 3 }).train([['a', 'b']])).rejects.toThrow(/minCount=3/);
    m.dispose();
  });
});
