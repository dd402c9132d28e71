import { describe, expect, it } from 'vitest';
import { dequantizeQ8, quantizeQ8, transposeInt8 } from './quantize.js';

describe('q8 per-channel symmetric quantisation', () => {
  it('scales each row by max|w| / 127 and rounds, hand-computed', () => {
    // row 0: max 2 → scale 2/127; 1/scale = 63.5 → 64, −2 → −127, 0.5 → 31.75 → 32. Row 1 is all zero.
    const { q, scale } = quantizeQ8(Float32Array.from([1, -2, 0.5, 0, 0, 0]), 2, 3);
    expect([...q]).toEqual([64, -127, 32, 0, 0, 0]);
    expect(scale[0]).toBeCloseTo(2 / 127, 7);
    expect(scale[1]).toBe(1);
    const back = dequantizeQ8({ q, scale }, 2, 3);
    expect(back[0]).toBeCloseTo((64 * 2) / 127, 6);
    expect(back[1]).toBeCloseTo(-2, 6);
    expect([...back.slice(3)]).toEqual([0, 0, 0]);
  });

  it('errs by at most half a step per value, and transposes for MatMulInteger', () => {
    const w = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7) * (i + 1));
    const t = quantizeQ8(w, 3, 4);
    const back = dequantizeQ8(t, 3, 4);
    for (let i = 0; i < 12; i++)
      expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(t.scale[Math.floor(i / 4)]! / 2 + 1e-7);
    expect([...transposeInt8(Int8Array.from([1, 2, 3, 4, 5, 6]), 2, 3)]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => quantizeQ8(new Float32Array(5), 2, 3)).toThrow(/5 values for \[2, 3\]/);
  });
});
