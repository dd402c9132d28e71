import { describe, expect, it } from 'vitest';
import { warmupCosine } from './schedule.js';

describe('warmupCosine', () => {
  it('warm-up is linear from peak/warmup, then cosine to 2 % of the peak', () => {
    expect(warmupCosine(0, 100, 1, 10)).toBeCloseTo(0.1);
    expect(warmupCosine(9, 100, 1, 10)).toBeCloseTo(1);
    // halfway through the decay: cos(π/2) = 0, so the mean of peak and the floor
    expect(warmupCosine(55, 100, 1, 10)).toBeCloseTo(0.02 + 0.98 * 0.5);
    expect(warmupCosine(100, 100, 1, 10)).toBeCloseTo(0.02);
    expect(warmupCosine(300, 100, 2, 10, 0.1)).toBeCloseTo(0.2);
  });
});
