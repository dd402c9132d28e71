import { TokenizerError } from './errors.js';

/** The model inputs for one text (or pair), with each token's character span in the original text. */
export class Encoding {
  /** Further windows of the truncated sequence (`returnOverflowing`), each a full model input. */
  overflowing?: Encoding[];

  constructor(
    readonly inputIds: number[],
    readonly tokenTypeIds: number[],
    readonly attentionMask: number[],
    readonly tokens: string[],
    /** Flat [start0, end0, start1, end1, ...]; special and padding tokens get [0, 0]. */
    readonly offsetPairs: number[],
  ) {}

  get length(): number {
    return this.inputIds.length;
  }

  /** [start, end) of each token in its own text (the first or the second of a pair), UTF-16 indices. */
  get offsets(): Array<[number, number]> {
    const out: Array<[number, number]> = new Array(this.inputIds.length);
    for (let i = 0; i < out.length; i++) out[i] = [this.offsetPairs[2 * i], this.offsetPairs[2 * i + 1]];
    return out;
  }
}

/** Tokens of one text before special tokens: parallel arrays. */
export interface Sequence {
  ids: number[];
  tokens: string[];
  /** Flat [start, end] per token. */
  offsets: number[];
}

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

export function sliceSequence(s: Sequence, a: number, b: number): Sequence {
  return { ids: s.ids.slice(a, b), tokens: s.tokens.slice(a, b), offsets: s.offsets.slice(2 * a, 2 * b) };
}

/**
 * transformers' truncate_sequences (truncation from the right). When the chosen sequence is too short to lose
 * `remove` tokens, transformers logs an error and returns the input untouched; so do we.
 * Returns the truncated pair, and which sequence (0 or 1) was cut as a window for overflow handling.
 */
export function truncatePair(
  a: Sequence,
  b: Sequence | null,
  remove: number,
  strategy: TruncationStrategy,
): { a: Sequence; b: Sequence | null; cut: 0 | 1 | -1 } {
  if (remove <= 0) return { a, b, cut: -1 };
  if (strategy === 'only_first' || (strategy === 'longest_first' && b === null)) {
    if (a.ids.length <= remove) return { a, b, cut: -1 };
    return { a: sliceSequence(a, 0, a.ids.length - remove), b, cut: 0 };
  }
  if (strategy === 'longest_first' && b !== null) {
    let la = a.ids.length;
    let lb = b.ids.length;
    // One token at a time from the longer one; ties cut the second.
    for (let k = 0; k < remove; k++) {
      if (la > lb) la--;
      else lb = Math.max(0, lb - 1);
    }
    return { a: sliceSequence(a, 0, la), b: sliceSequence(b, 0, lb), cut: -1 };
  }
  if (strategy === 'only_second' && b !== null) {
    if (b.ids.length <= remove) return { a, b, cut: -1 };
    return { a, b: sliceSequence(b, 0, b.ids.length - remove), cut: 1 };
  }
  if (strategy === 'only_second') return { a, b, cut: -1 };
  throw new TokenizerError(`truncation: unknown strategy ${JSON.stringify(strategy)}`);
}
