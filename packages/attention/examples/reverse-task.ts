/**
 * A synthetic sequence-to-sequence task: read a string of digits, write it backwards.
 * Trivial for a person, impossible without attention for a model that must copy by position: each output
 * step has to find the right source position, so the cross-attention maps come out as an anti-diagonal.
 */
import {
  AdamW,
  linearWarmupDecay,
  noDecayForBiasAndNorm,
  Random,
  setSeed,
  tf,
  trainStep,
} from '@attn/core-tensor';
import { Transformer, type TransformerConfig } from '../src/index.js';

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
/** Digit d is token d + 3. */
export const DIGIT0 = 3;

export interface ReverseOptions {
  seed?: number;
  /** Most optimisation steps; training stops earlier once validation accuracy reaches `targetAccuracy`. */
  steps?: number;
  /** Validation exact-match that stops training (checked every `evalEvery` steps). Default 1 (never early). */
  targetAccuracy?: number;
  evalEvery?: number;
  dModel?: number;
  layers?: number;
  batchSize?: number;
  minLen?: number;
  maxLen?: number;
  heldOut?: number;
  /** Peak learning rate of the linear warmup / linear decay schedule. */
  learningRate?: number;
  warmupSteps?: number;
  /** Called every `logEvery` steps with the running mean loss. */
  onProgress?: (step: number, loss: number) => void;
  /** Called after each validation with its exact-match accuracy. */
  onValidation?: (step: number, accuracy: number) => void;
  logEvery?: number;
}

export interface ReverseResult {
  /** Mean training loss per logged interval. */
  lossCurve: { step: number; loss: number }[];
  /** Exact-match accuracy of greedy decoding on held-out sequences never seen in training. */
  accuracy: number;
  heldOut: number;
  /** Steps actually run. */
  steps: number;
  validationCurve: { step: number; accuracy: number }[];
  examples: { source: number[]; predicted: number[] }[];
  seconds: number;
  model: Transformer;
}

export const modelConfig = (maxLen: number, dModel = 64, layers = 1): TransformerConfig => ({
  srcVocabSize: DIGIT0 + 10,
  tgtVocabSize: DIGIT0 + 10,
  dModel,
  numHeads: 4,
  dFF: 2 * dModel,
  numEncoderLayers: layers,
  numDecoderLayers: layers,
  maxLen: maxLen + 1, // the digits plus EOS (source) or BOS (decoder input)
  padId: PAD,
  bosId: BOS,
  eosId: EOS,
  norm: 'pre',
});

/** Digits → source ids, ending with EOS so the encoder can tell where the string stops. */
export const encodeSource = (digits: number[]) => [...digits.map((d) => d + DIGIT0), EOS];

/** Pads rows of ids to one length with PAD: [b, t]. */
function padded(rows: number[][], length: number): tf.Tensor2D {
  return tf.tensor2d(
    rows.map((r) => [...r, ...new Array(length - r.length).fill(PAD)]),
    [rows.length, length],
    'int32',
  );
}

/** Exact-match accuracy of greedy decoding over `sequences` (digits), with the first few predictions. */
export function evaluate(model: Transformer, sequences: number[][], maxLen: number) {
  let correct = 0;
  const examples: { source: number[]; predicted: number[] }[] = [];
  for (let i = 0; i < sequences.length; i += 250) {
    const chunk = sequences.slice(i, i + 250);
    const srcIds = padded(chunk.map(encodeSource), maxLen + 1);
    const predicted = model.greedyDecode(srcIds);
    srcIds.dispose();
    chunk.forEach((s, j) => {
      const out = predicted[j]!.map((t) => t - DIGIT0);
      if (out.join(',') === [...s].reverse().join(',')) correct++;
      if (examples.length < 5) examples.push({ source: s, predicted: out });
    });
  }
  return { accuracy: correct / sequences.length, examples };
}

/**
 * Trains a small encoder-decoder Transformer to reverse digit strings, then scores greedy decoding on
 * held-out strings. Three disjoint sets: training batches, a validation set that decides when to stop,
 * and the test set that is scored once at the end. The caller disposes `result.model`.
 */
export async function trainReverse(opts: ReverseOptions = {}): Promise<ReverseResult> {
  const { seed = 1, steps = 3000, batchSize = 32, minLen = 3, maxLen = 8, heldOut = 500 } = opts;
  const { learningRate = 2e-3, logEvery = 50, evalEvery = 100, targetAccuracy = 1 } = opts;
  // Seeded, so the data (and so the whole run) is reproducible.
  const random = new Random(seed);
  const sample = () => {
    const len = random.int(minLen, maxLen + 1);
    return Array.from({ length: len }, () => random.int(0, 10));
  };
  const reserved = new Set<string>();
  const drawSet = (n: number) => {
    const set: number[][] = [];
    while (set.length < n) {
      const s = sample();
      if (reserved.has(s.join(''))) continue;
      reserved.add(s.join(''));
      set.push(s);
    }
    return set;
  };
  const testSet = drawSet(heldOut);
  const validationSet = drawSet(200);
  const trainSample = () => {
    for (;;) {
      const s = sample();
      if (!reserved.has(s.join(''))) return s;
    }
  };

  setSeed(seed);
  const model = new Transformer(modelConfig(maxLen, opts.dModel, opts.layers));
  const optimizer = new AdamW(model, {
    lr: 0,
    betas: [0.9, 0.98],
    weightDecay: 0.01,
    decay: noDecayForBiasAndNorm,
  });
  const schedule = { warmupSteps: opts.warmupSteps ?? 100, totalSteps: steps, peakLr: learningRate };
  const lossCurve: ReverseResult['lossCurve'] = [];
  const validationCurve: ReverseResult['validationCurve'] = [];
  const started = performance.now();
  let running = 0;
  let step = 0;
  while (step < steps) {
    model.train();
    const digits = Array.from({ length: batchSize }, trainSample);
    const reversed = digits.map((s) => [...s].reverse().map((d) => d + DIGIT0));
    const srcIds = padded(digits.map(encodeSource), maxLen + 1);
    const tgtIn = padded(
      reversed.map((t) => [BOS, ...t]),
      maxLen + 1,
    );
    const tgtOut = padded(
      reversed.map((t) => [...t, EOS]),
      maxLen + 1,
    );
    optimizer.lr = linearWarmupDecay(step, schedule);
    const { loss } = await trainStep(model, () => model.loss(srcIds, tgtIn, tgtOut), optimizer, {
      clipNorm: 1,
    });
    tf.dispose([srcIds, tgtIn, tgtOut]);
    step++;
    running += loss;
    if (step % logEvery === 0) {
      lossCurve.push({ step, loss: running / logEvery });
      opts.onProgress?.(step, running / logEvery);
      running = 0;
    }
    if (step % evalEvery === 0) {
      model.eval();
      const { accuracy } = evaluate(model, validationSet, maxLen);
      validationCurve.push({ step, accuracy });
      opts.onValidation?.(step, accuracy);
      if (accuracy >= targetAccuracy) break;
    }
  }
  optimizer.dispose();
  model.eval();
  const { accuracy, examples } = evaluate(model, testSet, maxLen);
  return {
    lossCurve,
    validationCurve,
    accuracy,
    heldOut: testSet.length,
    steps: step,
    examples,
    seconds: (performance.now() - started) / 1000,
    model,
  };
}
