/**
 * WordPiece, greedy longest-match-first as BERT's WordpieceTokenizer: a word becomes vocab pieces, the first as
 * is and the rest with the continuation prefix (`##`), or a single [UNK] when any part cannot be matched or the
 * word is longer than `maxInputCharsPerWord` code points.
 *
 * Speed: continuation pieces live in their own map keyed without the prefix (no string concatenation per probe),
 * probes start at the longest vocab entry instead of the word's end, and results are memoised per word: ASCII
 * words straight from the text (no substring, no lower-casing on a hit) in a fixed-size 2-way hash table, other
 * words in a two-generation Map (recently used words survive a flush).
 */
export interface WordPieceOptions {
  unkId: number;
  prefix?: string;
  maxInputCharsPerWord?: number;
  cacheSize?: number;
}

/** Pieces of one word, flat: [id0, end0, id1, end1, ...], where end is the UTF-16 end of the piece in the word. */
export type Pieces = Int32Array;

const ASCII_SLOTS = 1 << 16;

export class WordPiece {
  readonly prefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly heads = new Map<string, number>();
  private readonly tails = new Map<string, number>();
  private readonly maxHead: number;
  private readonly maxTail: number;
  private readonly unkId: number;
  private readonly cacheSize: number;
  private young = new Map<string, Pieces>();
  private old = new Map<string, Pieces>();
  // ASCII word cache: slot → (hash, lower-cased word, pieces). A word may sit in slot h or h ^ 1.
  private readonly asciiHashes = new Int32Array(ASCII_SLOTS);
  private readonly asciiKeys: (string | undefined)[] = new Array(ASCII_SLOTS);
  private readonly asciiValues: (Pieces | undefined)[] = new Array(ASCII_SLOTS);

  constructor(vocab: ReadonlyMap<string, number>, options: WordPieceOptions) {
    this.prefix = options.prefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    this.cacheSize = options.cacheSize ?? 100_000;
    this.unkId = options.unkId;
    let maxHead = 0;
    let maxTail = 0;
    for (const [token, id] of vocab) {
      if (this.prefix.length > 0 && token.startsWith(this.prefix)) {
        const tail = token.slice(this.prefix.length);
        this.tails.set(tail, id);
        maxTail = Math.max(maxTail, tail.length);
      }
      // A token that starts with the prefix can still be a word-initial piece (e.g. a literal "##" word).
      this.heads.set(token, id);
      maxHead = Math.max(maxHead, token.length);
    }
    this.maxHead = maxHead;
    this.maxTail = maxTail;
  }

  /** The pieces of a normalised word (no whitespace). The returned array is shared: do not modify it. */
  pieces(word: string): Pieces {
    let hit = this.young.get(word);
    if (hit !== undefined) return hit;
    hit = this.old.get(word);
    if (hit === undefined) hit = this.compute(word);
    if (this.young.size >= this.cacheSize) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(word, hit);
    return hit;
  }

  /** Pieces of the ASCII word text[start, end), lower-cased first when `lower`; `h` is its FNV-1a hash. */
  asciiPieces(text: string, start: number, end: number, lower: boolean, h: number): Pieces {
    const slot = h & (ASCII_SLOTS - 1);
    for (let probe = 0; probe < 2; probe++) {
      const i = slot ^ probe;
      if (this.asciiHashes[i] === h && this.sameWord(this.asciiKeys[i], text, start, end, lower))
        return this.asciiValues[i]!;
    }
    let word = text.slice(start, end);
    if (lower) word = word.toLowerCase();
    const pieces = this.compute(word);
    // Fill an empty slot of the two, else replace the first (a bounded cache that never needs a flush).
    const i = this.asciiKeys[slot] === undefined || this.asciiKeys[slot ^ 1] !== undefined ? slot : slot ^ 1;
    this.asciiHashes[i] = h;
    this.asciiKeys[i] = word;
    this.asciiValues[i] = pieces;
    return pieces;
  }

  private sameWord(
    key: string | undefined,
    text: string,
    start: number,
    end: number,
    lower: boolean,
  ): boolean {
    if (key === undefined || key.length !== end - start) return false;
    for (let k = start; k < end; k++) {
      let c = text.charCodeAt(k);
      if (lower && c >= 65 && c <= 90) c += 32;
      if (key.charCodeAt(k - start) !== c) return false;
    }
    return true;
  }

  private compute(word: string): Pieces {
    const n = word.length;
    if (n > this.maxInputCharsPerWord && codePointLength(word) > this.maxInputCharsPerWord)
      return Int32Array.of(this.unkId, n);
    const out: number[] = [];
    let start = 0;
    while (start < n) {
      const map = start === 0 ? this.heads : this.tails;
      let end = Math.min(n, start + (start === 0 ? this.maxHead : this.maxTail));
      let id: number | undefined;
      while (end > start) {
        // Never cut a surrogate pair: Python slices code points.
        if (end < n && isLowSurrogate(word.charCodeAt(end)) && isHighSurrogate(word.charCodeAt(end - 1))) {
          end--;
          continue;
        }
        id = map.get(start === 0 && end === n ? word : word.slice(start, end));
        if (id !== undefined) break;
        end--;
      }
      if (id === undefined) return Int32Array.of(this.unkId, n);
      out.push(id, end);
      start = end;
    }
    return Int32Array.from(out);
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

export function codePointLength(s: string): number {
  let n = s.length;
  for (let k = 0; k + 1 < s.length; k++) {
    if (isHighSurrogate(s.charCodeAt(k)) && isLowSurrogate(s.charCodeAt(k + 1))) n--;
  }
  return n;
}
