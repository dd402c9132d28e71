import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../losses.js';
import { encodePair, makeNspPairs, maskTokens, pretrainingBatches } from './pretraining-data.js';
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

describe('MLM masking', () => {
  it('selects 15% of non-special tokens: 80% [MASK], 10% random, 10% kept; specials never', () => {
    const r = new Random(7);
    const ids = Array.from({ length: 200_000 }, (_, i) => (i % 10 === 0 ? 2 : r.int(5, V)));
    const { inputIds, labels } = maskTokens(ids, new Random(1), { maskId: 4, vocabSize: V, specialIds });
    let selected = 0;
    let masked = 0;
    let kept = 0;
    let random = 0;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === 2) {
        expect(labels[i]).toBe(IGNORE_INDEX);
        expect(inputIds[i]).toBe(2);
        continue;
      }
      if (labels[i] === IGNORE_INDEX) {
        expect(inputIds[i]).toBe(ids[i]);
        continue;
      }
      selected++;
      expect(labels[i]).toBe(ids[i]);
      if (inputIds[i] === 4) masked++;
      else if (inputIds[i] === ids[i]) kept++;
      else {
        random++;
        expect(specialIds).not.toContain(inputIds[i]);
      }
    }
    expect(selected / 180_000).toBeCloseTo(0.15, 2);
    expect(masked / selected).toBeCloseTo(0.8, 1);
    expect(random / selected).toBeCloseTo(0.1, 1);
    expect(kept / selected).toBeGreaterThan(0.09); // 10% plus random draws that hit the same id
    expect(kept / selected).toBeLessThan(0.11);
  });
});

describe('NSP pairs', () => {
  const docs = corpus(3);
  const pairs = makeNspPairs(docs, { maxLength: 48, seed: 11 });

  it('are about half random, fit the length, and are seeded', () => {
    const share = pairs.filter((p) => p.isRandomNext).length / pairs.length;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.65);
    for (const p of pairs) {
      expect(p.tokensA.length + p.tokensB.length).toBeLessThanOrEqual(45);
      expect(p.tokensA.length).toBeGreaterThan(0);
      expect(p.tokensB.length).toBeGreaterThan(0);
    }
    expect(makeNspPairs(docs, { maxLength: 48, seed: 11 })).toEqual(pairs);
    expect(makeNspPairs(docs, { maxLength: 48, seed: 12 })).not.toEqual(pairs);
  });

  it('keep real continuations in order (B comes after A in the same document)', () => {
    const flat = docs.map((d) => `,${d.flat().join(',')},`);
    for (const p of pairs.filter((x) => !x.isRandomNext)) {
      const a = `,${p.tokensA.join(',')},`;
      const b = `,${p.tokensB.join(',')},`;
      // trimming may cut the end of A or the start of B, so they need not touch, but B follows A
      expect(flat.some((d) => d.includes(a) && d.indexOf(b, d.indexOf(a) + a.length - 1) >= 0)).toBe(true);
    }
  });

  it('are packed as [CLS] A [SEP] B [SEP] with segment ids and padding', () => {
    const e = encodePair({ tokensA: [10, 11], tokensB: [12], isRandomNext: false }, special, 8);
    expect(e.inputIds).toEqual([2, 10, 11, 3, 12, 3, 0, 0]);
    expect(e.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 0, 0]);
    expect(e.attentionMask).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
  });

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
