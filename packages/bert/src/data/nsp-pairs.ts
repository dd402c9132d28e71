/**
 * Next-sentence prediction (NSP) data: segment pairs A/B from documents, half of them with a random B,
 * packed as [CLS] A [SEP] B [SEP]. Masked-LM corruption is in mlm-masking.ts; batches in pretraining-data.ts.
 */
import { Random } from './random.js';

/** The special token ids BERT's input format needs. */
export interface SpecialTokenIds {
  cls: number;
  sep: number;
  mask: number;
  pad: number;
}

/** One next-sentence-prediction example: segment A, segment B, and whether B was drawn at random. */
export interface NspPair {
  tokensA: number[];
  tokensB: number[];
  /** NSP label: false (0) when B really follows A, true (1) when B comes from another document. */
  isRandomNext: boolean;
}

export interface NspOptions {
  /** Length of the packed input including [CLS] and 2×[SEP]. */
  maxLength: number;
  seed: number;
  /** Probability that B is a random segment (default 0.5). */
  randomNextProbability?: number;
  /** Probability of a shorter target length, so the model also sees short inputs (default 0.1, as Google's BERT). */
  shortSequenceProbability?: number;
}

/**
 * Next-sentence pairs from documents (document → sentences → token ids), packed as in Google's
 * `create_pretraining_data.py`: sentences are accumulated until the target length, split at a random
 * sentence boundary into A and B; with probability ½ B is replaced by a span of another document
 * (and the unused sentences are put back). The pair is then trimmed, longer side first, to fit.
 */
export function makeNspPairs(documents: number[][][], opts: NspOptions): NspPair[] {
  const rng = new Random(opts.seed);
  const pRandom = opts.randomNextProbability ?? 0.5;
  const pShort = opts.shortSequenceProbability ?? 0.1;
  const maxTokens = opts.maxLength - 3; // [CLS] A [SEP] B [SEP]
  if (maxTokens < 2)
    throw new RangeError(`makeNspPairs: maxLength ${opts.maxLength} leaves no room for two segments`);
  const docs = documents.map((d) => d.filter((s) => s.length > 0)).filter((d) => d.length > 0);
  const pairs: NspPair[] = [];
  for (const [di, doc] of docs.entries()) {
    const target = rng.next() < pShort ? rng.int(2, maxTokens + 1) : maxTokens;
    let chunk: number[][] = [];
    let length = 0;
    for (let i = 0; i < doc.length; i++) {
      chunk.push(doc[i]!);
      length += doc[i]!.length;
      if (i !== doc.length - 1 && length < target) continue;
      if (chunk.length === 0) continue;
      const aEnd = chunk.length >= 2 ? rng.int(1, chunk.length) : 1;
      const tokensA = chunk.slice(0, aEnd).flat();
      let tokensB: number[];
      let isRandomNext = false;
      if (chunk.length === 1 || (docs.length > 1 && rng.next() < pRandom)) {
        if (docs.length < 2) {
          chunk = [];
          length = 0;
          continue;
        }
        isRandomNext = true;
        let other = rng.int(0, docs.length - 1);
        if (other >= di) other++; // never the same document
        const od = docs[other]!;
        const start = rng.int(0, od.length);
        tokensB = [];
        for (let j = start; j < od.length && tokensB.length < target - tokensA.length; j++)
          tokensB.push(...od[j]!);
        i -= chunk.length - aEnd; // the unused sentences go back into the stream
      } else {
        tokensB = chunk.slice(aEnd).flat();
      }
      trimPair(tokensA, tokensB, maxTokens, rng);
      if (tokensA.length > 0 && tokensB.length > 0) pairs.push({ tokensA, tokensB, isRandomNext });
      chunk = [];
      length = 0;
    }
  }
  return pairs;
}

/** Removes tokens from the longer segment, at its front or back at random, until both fit. */
function trimPair(a: number[], b: number[], maxTokens: number, rng: Random) {
  while (a.length + b.length > maxTokens) {
    const longer = a.length > b.length ? a : b;
    if (rng.next() < 0.5) longer.shift();
    else longer.pop();
  }
}

/** One packed, padded input row. */
export interface EncodedPair {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

/** [CLS] A [SEP] B [SEP], token types 0…0 1…1, padded with `pad` to maxLength. */
export function encodePair(pair: NspPair, special: SpecialTokenIds, maxLength: number): EncodedPair {
  const ids = [special.cls, ...pair.tokensA, special.sep, ...pair.tokensB, special.sep];
  if (ids.length > maxLength)
    throw new RangeError(`encodePair: ${ids.length} tokens exceed maxLength ${maxLength}`);
  const types = ids.map((_, i) => (i < pair.tokensA.length + 2 ? 0 : 1));
  const pad = maxLength - ids.length;
  return {
    inputIds: [...ids, ...Array(pad).fill(special.pad)],
    tokenTypeIds: [...types, ...Array(pad).fill(0)],
    attentionMask: [...ids.map(() => 1), ...Array(pad).fill(0)],
  };
}
