import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../losses.js';
import { maskTokens } from './mlm-masking.js';
import { Random } from './random.js';

const specialIds = [0, 1, 2, 3, 4];
const V = 1000;

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
