/**
 * Length-aware batching: a batch pads every text to its longest, so batches taken in input order waste the
 * model's time on [PAD] (IMDB reviews in file order: 1.9× the real tokens). Sorting a bounded window of items
 * by length before cutting it into batches makes each batch hold texts of about one length, while the window
 * bound keeps memory flat on an endless stream and the outputs are put back in input order.
 *
 * The one helper behind FeatureExtractionPipeline.stream, `attn embed` and the server's embedding batcher.
 */
import { BertInputError } from './errors.js';

/** Default window, in batches: 16 × 32 = 512 documents sorted together, a few MB of token ids at most. */
export const DEFAULT_SORT_WINDOW = 16;

/**
 * Indices of `lengths` grouped into batches of at most `batchSize`, shortest first (ties keep input order,
 * so equal lengths batch as they came).
 */
export function lengthSortedBatches(lengths: readonly number[], batchSize: number): number[][] {
  checkWhole('batchSize', batchSize);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

export interface LengthBatchingOptions<T, R> {
  batchSize: number;
  /**
   * Batches' worth of items sorted together (default 16): the input is read at most this many batches
   * ahead of the output. 1 makes the batches that input order makes.
   */
  sortWindow?: number;
  /** The item's size in the model: its token count. */
  length: (item: T) => number;
  /** One output per item of the batch, in the batch's order. */
  run: (batch: T[]) => Promise<R[]>;
}

/**
 * Reads `items` a window at a time (`batchSize × sortWindow`), runs each window through `run` in batches of
 * similar length, and yields the window's items with their results, both in input order.
 */
export async function* batchByLength<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  opts: LengthBatchingOptions<T, R>,
): AsyncGenerator<{ items: T[]; results: R[] }> {
  checkWhole('batchSize', opts.batchSize);
  const sortWindow = opts.sortWindow ?? DEFAULT_SORT_WINDOW;
  checkWhole('sortWindow', sortWindow);
  const windowSize = opts.batchSize * sortWindow;
  let window: T[] = [];
  const flush = async () => {
    const results = new Array<R>(window.length);
    for (const batch of lengthSortedBatches(window.map(opts.length), opts.batchSize)) {
      const out = await opts.run(batch.map((i) => window[i]!));
      if (out.length !== batch.length)
        throw new Error(`batchByLength: run gave ${out.length} results for ${batch.length} items`);
      batch.forEach((i, k) => {
        results[i] = out[k]!;
      });
    }
    const done = { items: window, results };
    window = [];
    return done;
  };
  for await (const item of items) {
    window.push(item);
    if (window.length === windowSize) yield await flush();
  }
  if (window.length) yield await flush();
}

function checkWhole(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new BertInputError(`${name}: expected a whole number ≥ 1, got ${n}`);
}
