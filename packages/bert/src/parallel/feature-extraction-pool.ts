/**
 * Sentence embeddings on every core: each worker computes on one thread, so throughput
 * comes from N workers, each with its own backend and model copy; `embed` cuts the texts into batches
 * and spreads them over the workers, and returns the vectors in input order.
 */

import type { BackendPreference } from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';
import type { EmbedRequest, EmbedResult, WorkerInit } from './feature-extraction-worker.js';
import { bundleSourceWorker, WorkerPool, WorkerPoolError } from './pool-core.js';

export interface FeatureExtractionPoolOptions {
  /** Number of worker threads (default: every core). Each holds a copy of the model. */
  workers?: number;
  /** 'mean' (attention-mask aware, default) or 'cls'. */
  pooling?: 'cls' | 'mean';
  /** L2-normalise each vector (default false). */
  normalize?: boolean;
  /** Texts per request sent to a worker (default 16). */
  batchSize?: number;
  /** Backend of each worker (default 'wasm'). */
  backend?: BackendPreference;
  /** Longest input in tokens (longer texts are truncated); default the model's max_position_embeddings. */
  maxLength?: number;
}

export interface FeatureExtractionPool {
  /** One vector per text, in input order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Stops the workers; pending calls are rejected. */
  close(): Promise<void>;
  readonly workers: number;
}

/**
 * Starts the workers (each loads `modelDir`: a model folder or hub id) and resolves when all are ready.
 * @deprecated `pipeline('feature-extraction', dir)` on its default device already computes on every core
 * (native, or wasm with a thread per core); a pool of model copies is no longer the way to use them.
 */
export async function createFeatureExtractionPool(
  modelDir: string,
  opts: FeatureExtractionPoolOptions = {},
): Promise<FeatureExtractionPool> {
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new WorkerPoolError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  const worker = await workerEntry();
  const workerData: WorkerInit = { modelDir, backend: opts.backend ?? 'wasm', maxLength: opts.maxLength };
  const pool = await WorkerPool.create<EmbedRequest, EmbedResult>({
    worker,
    size: opts.workers ?? node.os.availableParallelism(),
    workerData,
  });
  const pooling = opts.pooling ?? 'mean';
  const normalize = opts.normalize ?? false;
  return {
    workers: pool.size,
    async embed(texts: string[]) {
      const chunks: string[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) chunks.push(texts.slice(i, i + batchSize));
      const results = await Promise.all(chunks.map((c) => pool.run({ texts: c, pooling, normalize })));
      return results.flatMap((r) =>
        Array.from({ length: r.data.length / r.hidden }, (_, i) =>
          r.data.subarray(i * r.hidden, (i + 1) * r.hidden),
        ),
      );
    },
    close: () => pool.close(),
  };
}

/**
 * The worker module next to this file: dist/'s .js as is; from TypeScript sources (tests, tsx) a bundle of
 * the .ts worker (Node 20 runs no loader hooks in workers; see bundleSourceWorker).
 */
async function workerEntry(): Promise<URL> {
  if (!import.meta.url.endsWith('.ts')) return new URL('./feature-extraction-worker.js', import.meta.url);
  return bundleSourceWorker(new URL('./feature-extraction-worker.ts', import.meta.url), import.meta.url);
}
