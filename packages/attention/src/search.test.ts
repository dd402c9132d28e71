import { describe, expect, it } from 'vitest';
import { beamSearch, greedySearch, type StepFn } from './index.js';

// Tokens: 0 = BOS, 1 = EOS, 2 = A, 3 = B, 4 = C.
const [BOS, EOS, A, B, C] = [0, 1, 2, 3, 4];
const opts = { bosId: BOS, eosId: EOS, maxNewTokens: 5 };

/**
 * A hand-made model where greedy is myopic: A (0.55) beats B (0.45) first, but after A the best ending
 * has p = 0.4·1, while after B EOS has p = 0.9. So P(A C EOS) = 0.22 < P(B EOS) = 0.405.
 * With two beams, step 2 finishes B·EOS (0.405) and A·EOS (0.1925) while A·C (0.22) stays open: two
 * finished hypotheses end the search (HF's early_stopping=True).
 */
const table: Record<string, Record<number, number>> = {
  '0': { [A]: 0.55, [B]: 0.45 },
  '0,2': { [C]: 0.4, [EOS]: 0.35, [B]: 0.25 },
  '0,3': { [EOS]: 0.9, [A]: 0.1 },
};
const step: StepFn = (prefixes) =>
  prefixes.map((p) => {
    const probs = table[p.join(',')] ?? { [EOS]: 1 };
    return Array.from({ length: 5 }, (_, id) => Math.log(probs[id] ?? 1e-9));
  });

describe('decoding strategies', () => {
  it('greedy takes the locally best token each step', () => {
    expect(greedySearch(step, 2, opts)).toEqual([
      [A, C],
      [A, C],
    ]);
  });

  it('beam search finds the more probable sequence greedy misses', () => {
    const [best, second] = beamSearch(step, { ...opts, beamSize: 2, lengthPenalty: 0 });
    expect(best!.tokens).toEqual([B]);
    expect(best!.logProb).toBeCloseTo(Math.log(0.45 * 0.9), 6);
    expect(second!.tokens).toEqual([A]);
    expect(second!.logProb).toBeCloseTo(Math.log(0.55 * 0.35), 6);
  });

  it('beam size 1 is greedy; the length penalty normalises by length', () => {
    expect(beamSearch(step, { ...opts, beamSize: 1 })[0]!.tokens).toEqual([A, C]);
    const [best] = beamSearch(step, { ...opts, beamSize: 2, lengthPenalty: 1 });
    expect(best!.score).toBeCloseTo(Math.log(0.405) / 2, 6);
  });

  it('stops at maxNewTokens when EOS never comes', () => {
    const never: StepFn = (prefixes) => prefixes.map(() => [-9, -9, -0.1, -9, -9]);
    expect(greedySearch(never, 1, { ...opts, maxNewTokens: 3 })).toEqual([[A, A, A]]);
    expect(beamSearch(never, { ...opts, maxNewTokens: 3, beamSize: 2 })[0]!.tokens).toEqual([A, A, A]);
  });
});
