/**
 * BERT pre-training batches: NSP pairs (nsp-pairs.ts), packed and MLM-masked (mlm-masking.ts), shuffled.
 * The pairs' and the masking's names are re-exported here, where they used to live.
 */
import { type MaskingOptions, maskTokens } from './mlm-masking.js';
import { encodePair, type NspPair, type SpecialTokenIds } from './nsp-pairs.js';
import { Random } from './random.js';

export type { MaskingOptions } from './mlm-masking.js';
export { maskTokens } from './mlm-masking.js';
export type { EncodedPair, NspOptions, NspPair, SpecialTokenIds } from './nsp-pairs.js';
export { encodePair, makeNspPairs } from './nsp-pairs.js';

/** A batch ready for `BertForPreTraining.forward` (all [b, t] except nextSentenceLabel [b]). */
export interface PretrainingBatch {
  inputIds: number[][];
  tokenTypeIds: number[][];
  attentionMask: number[][];
  labels: number[][];
  nextSentenceLabel: number[];
}

export interface PretrainingBatchOptions extends Omit<MaskingOptions, 'maskId'> {
  special: SpecialTokenIds;
  maxLength: number;
  batchSize: number;
  /** Shuffles the pairs and draws the masks; a new seed per epoch gives new masks (dynamic masking). */
  seed: number;
}

/** Shuffled, masked, padded batches over the pairs (the last batch may be smaller). */
export function* pretrainingBatches(
  pairs: NspPair[],
  opts: PretrainingBatchOptions,
): Generator<PretrainingBatch> {
  const rng = new Random(opts.seed);
  const order = rng.shuffle(pairs.map((_, i) => i));
  const specialIds = new Set([
    ...opts.specialIds,
    opts.special.cls,
    opts.special.sep,
    opts.special.pad,
    opts.special.mask,
  ]);
  for (let start = 0; start < order.length; start += opts.batchSize) {
    const batch: PretrainingBatch = {
      inputIds: [],
      tokenTypeIds: [],
      attentionMask: [],
      labels: [],
      nextSentenceLabel: [],
    };
    for (const i of order.slice(start, start + opts.batchSize)) {
      const enc = encodePair(pairs[i]!, opts.special, opts.maxLength);
      const masked = maskTokens(enc.inputIds, rng, { ...opts, maskId: opts.special.mask, specialIds });
      batch.inputIds.push(masked.inputIds);
      batch.tokenTypeIds.push(enc.tokenTypeIds);
      batch.attentionMask.push(enc.attentionMask);
      batch.labels.push(masked.labels);
      batch.nextSentenceLabel.push(pairs[i]!.isRandomNext ? 1 : 0);
    }
    yield batch;
  }
}
