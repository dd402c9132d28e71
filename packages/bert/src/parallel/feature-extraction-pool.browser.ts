import { NodeOnlyError } from '@attn/core-tensor/platform';
import type { createFeatureExtractionPool as NodePool } from './feature-extraction-pool.js';

/**
 * The browser build's feature-extraction-pool.ts (swapped in by package.json's `browser` map): the pool runs
 * models on worker_threads, which a page does not have; the page calls the pipeline directly.
 */
export const createFeatureExtractionPool: typeof NodePool = () =>
  Promise.reject(new NodeOnlyError('createFeatureExtractionPool (worker_threads)'));
