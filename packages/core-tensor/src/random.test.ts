import { describe, expect, it } from 'vitest';
import { Random } from './random.js';

describe('Random (mulberry32)', () => {
  it("gives mulberry32's stream (first draws for seed 1, from an independent port)", () => {
    const r = new Random(1);
    expect([r.next(), r.next(), r.next()]).toEqual([
      0.6270739405881613, 0.002735721180215478, 0.5274470399599522,
    ]);
  });

  it('continues exactly from a saved position', () => {
    const r = new Random(42);
    for (let i = 0; i < 5; i++) r.next();
    const resumed = new Random(r.position);
    expect(Array.from({ length: 4 }, () => resumed.next())).toEqual(
      Array.from({ length: 4 }, () => r.next()),
    );
  });
});
