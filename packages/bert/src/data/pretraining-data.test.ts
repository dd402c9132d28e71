import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../losses.js';
import { makeNspPairs, pretrainingBatches } from './pretraining-data.js';
import { Random } from './random.js';

const special = { cls: 2, sep: 3, mask: 4, pad: 0 };
const specialIds = [0, 1, 2, 3, 4];
const V = 1000;

/** 200 documents of 2–9 sentences of 3–14 tokens, ids ≥ 5. */
function corpus(seed: number): number[][][] {
  const r = new Random(seed);
  return Array.from({ length: 200 }, () =>
    Array.from({ length: r.int(2, 10) }, () => Array.from({ length: r.int(3, 15) }, () => r.int(5, V))),
  );
}

describe('pre-training batches', () => {
  const pairs = makeNspPairs(corpus(3), { maxLength: 48, seed: 11 });

  it('batch into padded [b, maxLength] rows with labels only where masked', () => {
    const batches = [
      ...pretrainingBatches(pairs, {
        special,
        specialIds,
        vocabSize: V,
        maxLength: 48,
        batchSize: 16,
        seed: 5,
      }),
    ];
    expect(batches.reduce((n, b) => n + b.inputIds.length, 0)).toBe(pairs.length);
    for (const b of batches) {
      for (const row of b.inputIds) expect(row).toHaveLength(48);
      for (const [i, row] of b.labels.entries())
        for (const [j, y] of row.entries()) if (b.attentionMask[i]![j] === 0) expect(y).toBe(IGNORE_INDEX);
    }
  });
});
