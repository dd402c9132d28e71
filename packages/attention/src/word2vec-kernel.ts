/**
 * Word2Vec's step on WebAssembly SIMD: the dot product and the two axpys over 1 + negative rows are the whole
 * cost of training, and V8 runs them as scalar code (about 0.5 G multiply-adds per second); f32x4 runs them
 * about 4× faster. The source is word2vec-kernel.wat beside this file; the bytes below are wabt's
 * `wat2wasm --enable-simd` of it. Where WebAssembly SIMD is missing, `wasmStepEngine` returns undefined and
 * training uses the Float32Array loop (jsStepEngine), which computes the same updates.
 */
import { cbowStep, skipGramStep } from './word2vec.js';

const WORD2VEC_KERNEL =
  'AGFzbQEAAAABFwNgA39/fwF9YAV9f39/fwBgBH1/f38AAwQDAAECBQMBAAEHIAQGbWVtb3J5AgADZG90AAAGdXBkYXRlAAEEYXhweQACCpIEA7cBAwJ7An8BfSACQXhxQQJ0IQYCQANAIAUgBk8NASADIAAgBWr9AAQAIAEgBWr9AAQA/eYB/eQBIQMgBCAAIAVq/QAEECABIAVq/QAEEP3mAf3kASEEIAVBIGohBQwACwsgAyAE/eQBIQMgA/0fACAD/R8BkiAD/R8CIAP9HwOSkiEHIAJBAnQhBgJAA0AgBSAGTw0BIAcgACAFaioCACABIAVqKgIAlJIhByAFQQRqIQUMAAsLIAcLyAEEAn8CewF/AX0gAP0TIQcgBEF8cUECdCEGAkADQCAFIAZPDQEgASAFav0ABAAhCCADIAVqIQkgCSAJ/QAEACAHIAj95gH95AH9CwQAIAEgBWogCCAHIAIgBWr9AAQA/eYB/eQB/QsEACAFQRBqIQUMAAsLIARBAnQhBgJAA0AgBSAGTw0BIAEgBWoqAgAhCiADIAVqIQkgCSAJKgIAIAAgCpSSOAIAIAEgBWogCiAAIAIgBWoqAgCUkjgCACAFQQRqIQUMAAsLC4wBAwJ/AXsBfyAA/RMhBiADQXxxQQJ0IQUCQANAIAQgBU8NASACIARqIQcgByAH/QAEACAGIAEgBGr9AAQA/eYB/eQB/QsEACAEQRBqIQQMAAsLIANBAnQhBQJAA0AgBCAFTw0BIAIgBGohByAHIAcqAgAgACABIARqKgIAlJI4AgAgBEEEaiEEDAALCws=';

interface KernelExports {
  memory: WebAssembly.Memory;
  dot(a: number, b: number, n: number): number;
  update(g: number, u: number, x: number, e: number, n: number): void;
  axpy(a: number, x: number, y: number, n: number): void;
}

/**
 * The matrices of one training run and the two kinds of step on them. js and wasm-simd run each step at once
 * and return its loss; tfjs (word2vec-tfjs.ts) queues steps into batches, returns 0, and `flush` gives the
 * loss of what it ran since the last flush.
 */
export interface StepEngine {
  readonly kind: 'js' | 'wasm-simd' | 'tfjs';
  /** Host copies to initialise before the first step (for js and wasm-simd, the matrices themselves). */
  readonly syn0: Float32Array;
  readonly syn1: Float32Array;
  skipGram(context: number, targets: ArrayLike<number>, nTargets: number, lr: number): number;
  cbow(
    contexts: ArrayLike<number>,
    nContexts: number,
    targets: ArrayLike<number>,
    nTargets: number,
    lr: number,
    mean: boolean,
  ): number;
  /** Runs any queued steps; returns the loss of the steps whose call returned 0 for it. */
  flush(): Promise<number>;
  /** The trained input vectors syn0, a copy (the engine's memory may be reused or released). */
  result(): Promise<Float32Array>;
  dispose(): void;
}

/** flush/result/dispose of the engines whose steps run at once on host arrays. */
const immediate = (syn0: Float32Array) => ({
  flush: async () => 0,
  result: async () => syn0.slice(),
  dispose: () => {},
});

export function jsStepEngine(vocab: number, dim: number): StepEngine {
  const syn0 = new Float32Array(vocab * dim);
  const syn1 = new Float32Array(vocab * dim);
  const neu1 = new Float32Array(dim);
  const neu1e = new Float32Array(dim);
  return {
    kind: 'js',
    syn0,
    syn1,
    skipGram: (context, targets, nTargets, lr) =>
      skipGramStep(syn0, syn1, context, targets, nTargets, dim, lr, neu1e),
    cbow: (contexts, nContexts, targets, nTargets, lr, mean) =>
      cbowStep(syn0, syn1, contexts, nContexts, targets, nTargets, dim, lr, mean, neu1, neu1e),
    ...immediate(syn0),
  };
}

let compiled: WebAssembly.Module | null | undefined;

function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = Uint8Array.from(atob(WORD2VEC_KERNEL), (c) => c.charCodeAt(0));
      // 611 bytes: small enough for a synchronous compile on a browser's main thread too (limit 4 KB).
      compiled = new WebAssembly.Module(bytes);
    } catch {
      compiled = null; // no WebAssembly SIMD here
    }
  }
  return compiled;
}

/** The same steps as jsStepEngine on SIMD, with the matrices in the kernel's own memory; undefined without SIMD. */
export function wasmStepEngine(vocab: number, dim: number): StepEngine | undefined {
  const module = kernelModule();
  if (!module) return undefined;
  const k = new WebAssembly.Instance(module).exports as unknown as KernelExports;
  // Layout (floats): syn0 [V·dim] | syn1 [V·dim] | neu1 [dim] | neu1e [dim]. v128 loads need no alignment.
  const floats = 2 * vocab * dim + 2 * dim;
  const pages = Math.ceil((floats * 4) / 65536);
  const have = k.memory.buffer.byteLength / 65536;
  if (pages > have) k.memory.grow(pages - have);
  const f = new Float32Array(k.memory.buffer);
  const syn1At = vocab * dim;
  const neu1At = 2 * vocab * dim;
  const neu1eAt = neu1At + dim;
  const [neu1B, neu1eB] = [neu1At * 4, neu1eAt * 4];
  const rowB = (base: number, row: number) => (base + row * dim) * 4;
  const syn0 = f.subarray(0, vocab * dim);
  const syn1 = f.subarray(syn1At, syn1At + vocab * dim);
  const neu1e = f.subarray(neu1eAt, neu1eAt + dim);
  const neu1 = f.subarray(neu1At, neu1At + dim);
  const predict = (inB: number, targets: ArrayLike<number>, nTargets: number, lr: number): number => {
    // One log per step, not per target: −Σ log p_t = −log Π p_t; the product is folded into `loss` before it
    // could underflow (each p_t ≥ 1e-30), so any number of noise words is safe.
    let loss = 0;
    let likelihood = 1;
    for (let t = 0; t < nTargets; t++) {
      const uB = rowB(syn1At, targets[t]!);
      const x = k.dot(inB, uB, dim); // (2) f = u·h
      const sig = 1 / (1 + Math.exp(-x));
      const label = t === 0 ? 1 : 0;
      likelihood *= Math.max(label ? sig : 1 - sig, 1e-30);
      if (likelihood < 1e-200) {
        loss -= Math.log(likelihood);
        likelihood = 1;
      }
      // (4) g = (label − σ(f))·lr; (5) neu1e += g·u, then u += g·h
      k.update((label - sig) * lr, uB, inB, neu1eB, dim);
    }
    return loss - Math.log(likelihood);
  };
  return {
    kind: 'wasm-simd',
    syn0,
    syn1,
    skipGram(context, targets, nTargets, lr) {
      neu1e.fill(0);
      const inB = rowB(0, context);
      const loss = predict(inB, targets, nTargets, lr);
      k.axpy(1, neu1eB, inB, dim);
      return loss;
    },
    cbow(contexts, nContexts, targets, nTargets, lr, mean) {
      neu1.fill(0);
      const a = mean ? 1 / nContexts : 1;
      for (let c = 0; c < nContexts; c++) k.axpy(a, rowB(0, contexts[c]!), neu1B, dim); // (1)
      neu1e.fill(0);
      const loss = predict(neu1B, targets, nTargets, lr);
      for (let c = 0; c < nContexts; c++) k.axpy(1, neu1eB, rowB(0, contexts[c]!), dim);
      return loss;
    },
    ...immediate(syn0),
  };
}
