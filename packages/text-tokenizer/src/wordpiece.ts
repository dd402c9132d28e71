/**
 * WordPiece, greedy longest-match-first as BERT's WordpieceTokenizer: a word becomes vocab pieces, the first as
 * is and the rest with the continuation prefix (`##`), or a single [UNK] when any part cannot be matched or the
 * word is longer than `maxInputCharsPerWord` code points.
 *
 * Speed: continuation pieces live in their own map keyed without the prefix (no string concatenation per probe),
 * probes start at the longest vocab entry instead of the word's end, and results are memoised per word. ASCII
 * words are looked up straight from the text (no substring, no lower-casing on a hit) in a 2-way hash table whose
 * entries live in one flat Int32Array (a hit touches two cache lines, not five heap objects); other words go
 * through a two-generation Map (recently used words survive a flush).
 */
export interface WordPieceOptions {
  unkId: number;
  prefix?: string;
  maxInputCharsPerWord?: number;
  cacheSize?: number;
}

/** Pieces of one word, flat: [id0, end0, id1, end1, ...], where end is the UTF-16 end of the piece in the word. */
export type Pieces = Int32Array;

const SLOTS = 1 << 16; // slot pairs (2k, 2k + 1) share a hash bucket; each slot is [hash, pool offset]
const POOL_SIZE = 1 << 21; // at most this many Int32s of cached records (8 MB); the pool grows up to it
const MAX_CACHED = 64; // longer ASCII words are not cached

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
  /**
   * ASCII word cache. A record at pool offset `at`: [len, len lower-cased chars, n, id0, end0, …, idn-1, endn-1].
   * asciiPieces() returns the offset of `n`. When the pool is full, the whole cache is dropped.
   */
  pool = new Int32Array(1 << 14);
  private readonly table = new Int32Array(2 * SLOTS);
  private used = 1; // offset 0 marks an empty slot

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

  /**
   * Pieces of the ASCII word text[start, end), lower-cased first when `lower`; `h` is the FNV-1a hash of its
   * (lower-cased) chars. Returns the offset `at` in `pool` of a record [n, id0, end0, …]: read it before the
   * next call.
   */
  asciiPieces(text: string, start: number, end: number, lower: boolean, h: number): number {
    const len = end - start;
    const t = this.table;
    const bucket = 2 * (h & (SLOTS - 2)); // both slots of the bucket, adjacent in `table`
    if (len <= MAX_CACHED) {
      for (let s = bucket; s < bucket + 4; s += 2) {
        const at = t[s + 1];
        if (at !== 0 && t[s] === h && this.sameWord(at, text, start, end, lower)) {
          if (s !== bucket) {
            // Move to the front: the other slot is the one evicted next.
            t[s] = t[bucket];
            t[s + 1] = t[bucket + 1];
            t[bucket] = h;
            t[bucket + 1] = at;
          }
          return at + 1 + len;
        }
      }
    }
    let word = text.slice(start, end);
    if (lower) word = word.toLowerCase();
    const pieces = this.compute(word);
    if (len > MAX_CACHED) {
      // Not cached: a record [n, pieces] past the used part, overwritten by the next call.
      const at = this.reserve(1 + pieces.length);
      this.pool[at] = pieces.length / 2;
      this.pool.set(pieces, at + 1);
      return at;
    }
    const at = this.reserve(len + 2 + pieces.length);
    const pool = this.pool;
    pool[at] = len;
    for (let k = 0; k < len; k++) pool[at + 1 + k] = word.charCodeAt(k);
    pool[at + 1 + len] = pieces.length / 2;
    pool.set(pieces, at + 2 + len);
    this.used += len + 2 + pieces.length;
    t[bucket + 2] = t[bucket];
    t[bucket + 3] = t[bucket + 1];
    t[bucket] = h;
    t[bucket + 1] = at;
    return at + 1 + len;
  }

  /** Offset of `need` free Int32s in the pool: grows it, or drops the whole cache once it is at full size. */
  private reserve(need: number): number {
    if (this.used + need > this.pool.length) {
      if (this.pool.length < POOL_SIZE && this.used + need <= POOL_SIZE) {
        const grown = new Int32Array(Math.min(POOL_SIZE, 2 * this.pool.length));
        grown.set(this.pool);
        this.pool = grown;
        return this.reserve(need);
      }
      this.table.fill(0);
      this.used = 1;
      if (1 + need > this.pool.length) this.pool = new Int32Array(1 + need);
    }
    return this.used;
  }

  private sameWord(at: number, text: string, start: number, end: number, lower: boolean): boolean {
    const pool = this.pool;
    if (pool[at] !== end - start) return false;
    for (let k = start, q = at + 1; k < end; k++, q++) {
      let c = text.charCodeAt(k);
      if (lower && c >= 65 && c <= 90) c += 32;
      if (pool[q] !== c) return false;
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
