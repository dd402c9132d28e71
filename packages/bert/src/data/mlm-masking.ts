/** BERT's masked-LM corruption (15% of tokens; 80/10/10). NSP pairs are in nsp-pairs.ts. */
import { IGNORE_INDEX } from '../losses.js';
import type { Random } from './random.js';

export interface MaskingOptions {
  /** Fraction of (non-special) tokens to predict (default 0.15). */
  mlmProbability?: number;
  maskId: number;
  vocabSize: number;
  /** Ids never selected for prediction nor used as random replacements ([CLS], [SEP], [PAD], [MASK], [UNK]…). */
  specialIds: Iterable<number>;
}

/**
 * BERT's masked-LM corruption (HF `DataCollatorForLanguageModeling`): each non-special token is selected
 * with probability 15%; a selected token becomes [MASK] 80% of the time, a random token 10%, and stays
 * unchanged 10%. Labels hold the original id at selected positions and -100 elsewhere.
 */
export function maskTokens(
  inputIds: number[],
  rng: Random,
  opts: MaskingOptions,
): { inputIds: number[]; labels: number[] } {
  const p = opts.mlmProbability ?? 0.15;
  const special = new Set(opts.specialIds);
  const out = [...inputIds];
  const labels = inputIds.map(() => IGNORE_INDEX);
  for (let i = 0; i < inputIds.length; i++) {
    if (special.has(inputIds[i]!) || rng.next() >= p) continue;
    labels[i] = inputIds[i]!;
    const r = rng.next();
    if (r < 0.8) out[i] = opts.maskId;
    else if (r < 0.9) out[i] = randomNonSpecial(rng, opts.vocabSize, special);
  }
  return { inputIds: out, labels };
}

function randomNonSpecial(rng: Random, vocabSize: number, special: Set<number>): number {
  for (;;) {
    const id = rng.int(0, vocabSize);
    if (!special.has(id)) return id;
  }
}
