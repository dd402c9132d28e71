import { describe, expect, it } from 'vitest';
import { BertInputError } from './errors.js';
import { poolHidden } from './pooling.js';

// Two texts, 3 positions, H = 2; the second text has one padded position (its last).
const hidden = Float32Array.from([1, 2, 3, -4, 5, 6, /* text 2 */ -1, 0, 3, 8, 100, -100]);
const dims = [2, 3, 2] as const;
const mask = [
  [1, 1, 1],
  [1, 1, 0],
];
const close = (got: Float32Array, want: number[]) => {
  expect(got).toHaveLength(want.length);
  for (const [i, w] of want.entries()) expect(got[i]).toBeCloseTo(w, 6);
};

describe('poolHidden (sentence-transformers pooling on the host)', () => {
  it('mean counts real tokens only', () => {
    const { data, dims: d } = poolHidden(hidden, dims, mask, 'mean', false);
    expect(d).toEqual([2, 2]);
    close(data, [(1 + 3 + 5) / 3, (2 - 4 + 6) / 3, (-1 + 3) / 2, (0 + 8) / 2]);
  });

  it('max ignores padding; cls is the first token', () => {
    close(poolHidden(hidden, dims, mask, 'max', false).data, [5, 6, 3, 8]);
    close(poolHidden(hidden, dims, mask, 'cls', false).data, [1, 2, -1, 0]);
  });

  it('normalize divides by the L2 norm; none keeps every token', () => {
    close(poolHidden(hidden, dims, mask, 'cls', true).data, [1 / Math.sqrt(5), 2 / Math.sqrt(5), -1, 0]);
    const none = poolHidden(hidden, dims, mask, 'none', false);
    expect(none.dims).toEqual([2, 3, 2]);
    close(none.data, Array.from(hidden));
    expect(none.data).not.toBe(hidden);
  });

  it('refuses an unknown pooling and a shape that does not fit the values', () => {
    expect(() => poolHidden(hidden, dims, mask, 'sum' as 'mean', false)).toThrow(BertInputError);
    expect(() => poolHidden(hidden, [2, 2, 2], mask, 'mean', false)).toThrow(
      /12 values for shape \[2, 2, 2\]/,
    );
  });
});
