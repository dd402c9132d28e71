import {
  ASCII_CLASS,
  CJK,
  charClass,
  EXTEND,
  FNV_OFFSET,
  FNV_PRIME,
  lowerPerChar,
  PUNCT,
  REMOVE,
  SPACE,
  stripAccents,
  WORD,
} from './unicode.js';

/** Resolved options of BERT's BasicTokenizer (strip_accents already follows do_lower_case when unset). */
export interface PreTokenizerOptions {
  lowercase: boolean;
  stripAccents: boolean;
  tokenizeChineseChars: boolean;
  /** Special tokens, split out of the running text (`hello[MASK]world` → hello, [MASK], world). */
  specialTokens: readonly string[];
  /** Whitespace-delimited tokens kept whole: never lower-cased, never split on punctuation. */
  neverSplit: readonly string[];
}

/**
 * Receives the words of one string, in order. Offsets are UTF-16 indices into the original string:
 * code unit k of `word` came from [map[2k], map[2k+1]), or from [base + k, base + k + 1) when map is null.
 */
export interface WordSink {
  word(word: string, base: number, map: Int32Array | null): void;
  /**
   * The ASCII word text[start, end), to be lower-cased when `lower`, with the FNV-1a hash of its (lower-cased)
   * chars: lets a cache find it without making a substring.
   */
  asciiWord(text: string, start: number, end: number, lower: boolean, hash: number): void;
  /** A CJK ideograph (already NFC) found at [start, end): a word of its own. */
  char(cp: number, start: number, end: number): void;
  /** A special or never-split token, to be looked up as is. */
  whole(token: string, start: number, end: number): void;
}

const CACHE_LIMIT = 50_000;

/**
 * BERT's BasicTokenizer as transformers 4.31 runs it inside `tokenize()`, in one pass over the string:
 * (lower-case per char) → split out special tokens → _clean_text → space around CJK → NFC → whitespace split →
 * lower-case + strip accents → split on punctuation.
 *
 * Pure-ASCII whitespace tokens (the vast majority) take a fast path with no normalisation at all. Other tokens are
 * cut into segments (a char plus its combining marks), each normalised on its own and memoised: NFC never composes
 * across such segments, so this equals normalising the whole token, and it keeps exact offsets.
 */
export class BertPreTokenizer {
  readonly options: PreTokenizerOptions;
  private readonly specialsByFirst = new Map<number, { token: string; lowerOnly: boolean }[]>();
  private readonly neverSplit: Set<string>;
  // Cheap filters so that the never-split lookup (a slice + a Set probe) runs only on plausible tokens.
  private readonly neverSplitFirst = new Set<number>();
  private readonly neverSplitNonAscii: boolean;
  private readonly segmentCache = new Map<string, string>();
  /** 1 where a special token may start (first UTF-16 unit). */
  private readonly specialFirst = new Uint8Array(65536);
  /** ASCII words of the current whitespace token: [start, end, hash] each. */
  private pending = new Int32Array(96);

  constructor(options: PreTokenizerOptions) {
    this.options = options;
    this.neverSplit = new Set(options.neverSplit.filter((t) => t.length > 0));
    for (const t of this.neverSplit) {
      this.neverSplitFirst.add(t.charCodeAt(0));
      // The text is lower-cased before the check, so "[Foo]" in the text can match "[foo]".
      if (options.lowercase) this.neverSplitFirst.add(t[0].toUpperCase().charCodeAt(0));
    }
    this.neverSplitNonAscii = [...this.neverSplit].some((t) => t.charCodeAt(0) >= 128);
    const sorted = [...new Set(options.specialTokens)].filter((s) => s.length > 0);
    sorted.sort((a, b) => b.length - a.length); // longest match first
    for (const token of sorted) {
      this.addSpecial(token.charCodeAt(0), token, false);
      // Lower-casing runs before the split, so `<S>` in the text matches a special `<s>`.
      const first = token[0].toUpperCase();
      if (options.lowercase && first !== token[0] && first.length === 1)
        this.addSpecial(first.charCodeAt(0), token, true);
    }
  }

  private addSpecial(first: number, token: string, lowerOnly: boolean): void {
    this.specialFirst[first] = 1;
    const list = this.specialsByFirst.get(first) ?? [];
    list.push({ token, lowerOnly });
    this.specialsByFirst.set(first, list);
  }

  /**
   * Feeds the words of `text` to `sink`. `basic` reproduces `BasicTokenizer.tokenize(text, never_split=specials)`
   * called on its own: no special-token split, and lower-casing of whole tokens (so a final Σ becomes ς).
   *
   * One pass over the chars. ASCII words of the current whitespace token are only noted (start, end, hash) and
   * handed out when the token ends: if the token turns out to hold other chars, it goes to slowToken() instead.
   */
  run(text: string, sink: WordSink, basic = false): void {
    const n = text.length;
    const chinese = this.options.tokenizeChineseChars;
    const lower = this.options.lowercase;
    const specials = basic || this.specialsByFirst.size === 0 ? undefined : this.specialFirst;
    let tokStart = -1; // start of the current whitespace token, or -1
    let ascii = true; // the token so far is printable ASCII
    let ws = -1; // start of the current ASCII word, or -1
    let h = 0; // its FNV-1a hash (lower-cased when `lower`)
    let np = 0; // this.pending entries × 3
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        const cls = ASCII_CLASS[c];
        if (cls === WORD) {
          if (ws < 0) {
            ws = i;
            h = FNV_OFFSET;
            if (tokStart < 0) tokStart = i;
          }
          h = Math.imul(h ^ (lower && c >= 65 && c <= 90 ? c + 32 : c), FNV_PRIME);
          i++;
          continue;
        }
        if (specials !== undefined && specials[c] === 1) {
          const token = this.matchSpecial(text, i, c);
          if (token !== undefined) {
            if (ws >= 0) np = this.pend(np, ws, i, h);
            if (tokStart >= 0) this.flush(text, tokStart, i, ascii, np, sink, basic);
            ws = tokStart = -1;
            np = 0;
            ascii = true;
            sink.whole(token, i, i + token.length);
            i += token.length;
            continue;
          }
        }
        if (ws >= 0) np = this.pend(np, ws, i, h);
        ws = -1;
        if (cls === SPACE) {
          if (tokStart >= 0) this.flush(text, tokStart, i, ascii, np, sink, basic);
          tokStart = -1;
          np = 0;
          ascii = true;
        } else {
          if (tokStart < 0) tokStart = i;
          if (cls === PUNCT) np = this.pend(np, i, i + 1, Math.imul(FNV_OFFSET ^ c, FNV_PRIME));
          else ascii = false; // a control char: the token needs _clean_text
        }
        i++;
        continue;
      }
      // Not ASCII: a whole code point.
      let cp = c;
      let width = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          width = 2;
        }
      }
      if (specials !== undefined && specials[c] === 1) {
        const token = this.matchSpecial(text, i, c);
        if (token !== undefined) {
          if (ws >= 0) np = this.pend(np, ws, i, h);
          if (tokStart >= 0) this.flush(text, tokStart, i, ascii, np, sink, basic);
          ws = tokStart = -1;
          np = 0;
          ascii = true;
          sink.whole(token, i, i + token.length);
          i += token.length;
          continue;
        }
      }
      const cls = charClass(cp) & 7;
      if (ws >= 0) np = this.pend(np, ws, i, h); // ends an ASCII word before a space or CJK char
      ws = -1;
      if (cls === SPACE || (cls === CJK && chinese)) {
        if (tokStart >= 0) this.flush(text, tokStart, i, ascii, np, sink, basic);
        tokStart = -1;
        np = 0;
        ascii = true;
        if (cls === CJK) sink.char(nfcChar(cp), i, i + width);
      } else {
        if (tokStart < 0) tokStart = i;
        ascii = false;
      }
      i += width;
    }
    if (ws >= 0) np = this.pend(np, ws, n, h);
    if (tokStart >= 0) this.flush(text, tokStart, n, ascii, np, sink, basic);
  }

  /** Notes the ASCII word [s, e) with hash h; returns the new entry count. */
  private pend(np: number, s: number, e: number, h: number): number {
    if (np + 3 > this.pending.length) {
      const grown = new Int32Array(this.pending.length * 2);
      grown.set(this.pending);
      this.pending = grown;
    }
    this.pending[np] = s;
    this.pending[np + 1] = e;
    this.pending[np + 2] = h;
    return np + 3;
  }

  private matchSpecial(text: string, i: number, c: number): string | undefined {
    for (const { token, lowerOnly } of this.specialsByFirst.get(c) ?? []) {
      if (!lowerOnly) {
        if (text.startsWith(token, i)) return token;
      } else if (lowerPerChar(text.slice(i, i + token.length)) === token) return token;
    }
    return undefined;
  }

  /** One whitespace-delimited token [s, e) of the cleaned text, whose ASCII words are pending[0, np). */
  private flush(
    text: string,
    s: number,
    e: number,
    ascii: boolean,
    np: number,
    sink: WordSink,
    basic: boolean,
  ): void {
    if (!ascii) {
      this.slowToken(text, s, e, sink, basic);
      return;
    }
    if (this.neverSplitFirst.has(text.charCodeAt(s))) {
      let token = text.slice(s, e);
      // In tokenize() transformers lower-cases the text before BasicTokenizer compares tokens with never_split.
      if (this.options.lowercase && !basic) token = token.toLowerCase();
      if (this.neverSplit.has(token)) {
        sink.whole(token, s, e);
        return;
      }
    }
    const lower = this.options.lowercase;
    const p = this.pending;
    for (let k = 0; k < np; k += 3) sink.asciiWord(text, p[k], p[k + 1], lower, p[k + 2]);
  }

  /** A token with non-ASCII or removed chars: normalise segment by segment, keeping each unit's origin. */
  private slowToken(text: string, s: number, e: number, sink: WordSink, basic: boolean): void {
    const segs: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let k = s; k < e; ) {
      const cp = text.codePointAt(k)!;
      const w = cp > 0xffff ? 2 : 1;
      const cls = charClass(cp);
      if ((cls & 7) !== REMOVE) {
        const ch = w === 1 ? text[k] : text.slice(k, k + 2);
        if (cls & EXTEND && segs.length > 0) {
          segs[segs.length - 1] += ch;
          ends[ends.length - 1] = k + w;
        } else {
          segs.push(ch);
          starts.push(k);
          ends.push(k + w);
        }
      }
      k += w;
    }
    if (segs.length === 0) return;
    const preLower = this.options.lowercase && !basic;
    const first = (preLower ? lowerPerChar(segs[0]) : segs[0]).charCodeAt(0);
    if (this.neverSplitNonAscii || this.neverSplitFirst.has(first)) {
      const joined = segs.join('');
      const token = (preLower ? lowerPerChar(joined) : joined).normalize('NFC');
      if (this.neverSplit.has(token)) {
        sink.whole(token, s, e);
        return;
      }
    }
    if (basic) {
      // Whole-token lower-casing, as BasicTokenizer does (offsets are not needed here).
      let t = segs.join('').normalize('NFC');
      if (this.options.lowercase) t = t.toLowerCase();
      if (this.options.stripAccents) t = stripAccents(t);
      splitOnPunct(t, null, sink);
      return;
    }
    let total = 0;
    for (let j = 0; j < segs.length; j++) {
      segs[j] = this.normalizeSegment(segs[j]);
      total += segs[j].length;
    }
    const map = new Int32Array(2 * total);
    let u = 0;
    for (let j = 0; j < segs.length; j++) {
      for (let q = 0; q < segs[j].length; q++, u++) {
        map[2 * u] = starts[j];
        map[2 * u + 1] = ends[j];
      }
    }
    splitOnPunct(segs.join(''), map, sink);
  }

  private normalizeSegment(seg: string): string {
    const hit = this.segmentCache.get(seg);
    if (hit !== undefined) return hit;
    const { lowercase } = this.options;
    // transformers lower-cases the text char by char first, then BasicTokenizer applies NFC and lower() again.
    let t = (lowercase ? lowerPerChar(seg) : seg).normalize('NFC');
    if (lowercase) t = t.toLowerCase();
    if (this.options.stripAccents) t = stripAccents(t);
    if (this.segmentCache.size >= CACHE_LIMIT) this.segmentCache.clear();
    this.segmentCache.set(seg, t);
    return t;
  }
}

/** BasicTokenizer._run_split_on_punc on a normalised token. */
function splitOnPunct(t: string, map: Int32Array | null, sink: WordSink): void {
  let ws = 0;
  for (let k = 0; k < t.length; ) {
    const cp = t.codePointAt(k)!;
    const w = cp > 0xffff ? 2 : 1;
    if ((charClass(cp) & 7) === PUNCT) {
      if (k > ws) sink.word(t.slice(ws, k), 0, sub(map, 2 * ws, 2 * k));
      sink.word(t.slice(k, k + w), 0, sub(map, 2 * k, 2 * (k + w)));
      ws = k + w;
    }
    k += w;
  }
  if (t.length > ws) sink.word(ws === 0 ? t : t.slice(ws), 0, sub(map, 2 * ws));
}

function sub(map: Int32Array | null, from: number, to?: number): Int32Array | null {
  return map === null ? null : map.subarray(from, to);
}

/** NFC of a lone CJK ideograph: the compatibility ideographs map to unified ones. */
function nfcChar(cp: number): number {
  if (cp < 0xf900 || (cp > 0xfaff && cp < 0x2f800)) return cp;
  return String.fromCodePoint(cp).normalize('NFC').codePointAt(0)!;
}
