import { describe, expect, it } from 'vitest';
import { encodePair, makeNspPairs } from './nsp-pairs.js';
import { Random } from './random.js';

const special = { cls: 2, sep: 3, mask: 4, pad: 0 };
const V = 1000;

/** 200 documents of 2–9 sentences of 3–14 tokens, ids ≥ 5. */
function corpus(seed: number): number[][][] {
  const r = new Random(seed);
  return Array.from({ length: 200 }, () =>
    Array.from({ length: r.int(2, 10) }, () => Array.from({ length: r.int(3, 15) }, () => r.int(5, V))),
  );
}

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
});
