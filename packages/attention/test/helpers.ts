import { expect } from 'vitest';

type Nested = number | Nested[];

/** Flattens a nested JSON array (the gold files keep tensor shapes as nesting). */
export function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

/** Largest |a − b| over two equally long arrays; fails the test on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
