import { BertTokenizer } from './bert-tokenizer.js';
import { TokenizerError } from './errors.js';
import { readLines } from './io.js';
import { BertPreTokenizer } from './pre-tokenizer.js';

export interface WordPieceTrainerOptions {
  /** Exact size of the vocab to learn (special tokens and the alphabet included). */
  vocabSize: number;
  /** First in the vocab, in this order (default [PAD] [UNK] [CLS] [SEP] [MASK], BERT's ids 0-4). */
  specialTokens?: string[];
  /** A pair seen fewer times than this is never merged (default 2). */
  minFrequency?: number;
  /** Keep only the most frequent characters (default: all). Rarer ones become [UNK]. */
  limitAlphabet?: number;
  /** Characters always in the alphabet, seen in the corpus or not. */
  initialAlphabet?: string[];
  /** Normalisation of the tokenizer to build (as BertTokenizer's; default lower-case, strip accents). */
  doLowerCase?: boolean;
  stripAccents?: boolean | null;
  tokenizeChineseChars?: boolean;
  continuingSubwordPrefix?: string;
  modelMaxLength?: number;
  onProgress?: (p: TrainerProgress) => void;
}

export interface TrainerProgress {
  phase: 'count' | 'merge';
  /** Lines read (count), or vocab entries so far (merge). */
  done: number;
  /** vocabSize during the merge phase. */
  total?: number;
}

const DEFAULT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/**
 * Learns a WordPiece vocab from raw text, the way Hugging Face `tokenizers`' WordPieceTrainer does: words from
 * BERT's pre-tokenizer, then BPE-style merges of the most frequent adjacent pair (continuation pieces carry
 * `##`) until the vocab has `vocabSize` entries. Every alphabet character is in the vocab both as a word start
 * and as a `##` continuation, so any word over the alphabet is tokenized without [UNK].
 */
export class WordPieceTrainer {
  readonly options: WordPieceTrainerOptions;
  /** The tokenizer of the last train() call. */
  tokenizer?: BertTokenizer;

  constructor(options: WordPieceTrainerOptions) {
    if (!(Number.isInteger(options.vocabSize) && options.vocabSize > 0)) {
      throw new TokenizerError(
        `WordPieceTrainer: vocabSize must be a positive integer, got ${options.vocabSize}`,
      );
    }
    this.options = options;
  }

  /** Trains on lines of text (any iterable or async iterable of strings). */
  async train(lines: Iterable<string> | AsyncIterable<string>): Promise<BertTokenizer> {
    const counts = await this.countWords(lines);
    const vocab = this.learn(counts);
    const o = this.options;
    this.tokenizer = BertTokenizer.fromVocab(
      vocab,
      {
        doLowerCase: o.doLowerCase ?? true,
        stripAccents: o.stripAccents ?? null,
        tokenizeChineseChars: o.tokenizeChineseChars ?? true,
        continuingSubwordPrefix: o.continuingSubwordPrefix,
        modelMaxLength: o.modelMaxLength,
        ...specialOptions(o.specialTokens ?? DEFAULT_SPECIALS),
      },
      'trained vocab',
    );
    return this.tokenizer;
  }

  /** Trains on text files, read line by line (Node). */
  async trainFromFiles(paths: string[]): Promise<BertTokenizer> {
    async function* all(): AsyncGenerator<string> {
      for (const p of paths) yield* readLines(p);
    }
    return this.train(all());
  }

  /** Writes the trained tokenizer: vocab.txt, tokenizer_config.json, special_tokens_map.json, tokenizer.json. */
  async save(dir: string): Promise<void> {
    if (this.tokenizer === undefined) throw new TokenizerError('WordPieceTrainer.save: call train() first');
    await this.tokenizer.save(dir);
  }

  private async countWords(lines: Iterable<string> | AsyncIterable<string>): Promise<Map<string, number>> {
    const o = this.options;
    const lower = o.doLowerCase ?? true;
    const pre = new BertPreTokenizer({
      lowercase: lower,
      stripAccents: o.stripAccents ?? lower,
      tokenizeChineseChars: o.tokenizeChineseChars ?? true,
      specialTokens: o.specialTokens ?? DEFAULT_SPECIALS,
      neverSplit: [],
    });
    const counts = new Map<string, number>();
    const add = (w: string) => counts.set(w, (counts.get(w) ?? 0) + 1);
    const sink = {
      word: add,
      asciiWord: (t: string, s: number, e: number, low: boolean) =>
        add(low ? t.slice(s, e).toLowerCase() : t.slice(s, e)),
      char: (cp: number) => add(String.fromCodePoint(cp)),
      whole: () => {}, // special tokens written in the corpus are not words
    };
    let n = 0;
    for await (const line of lines) {
      if (typeof line !== 'string')
        throw new TokenizerError(`WordPieceTrainer: corpus line ${n} is not a string`);
      pre.run(line, sink);
      if (++n % 10_000 === 0) o.onProgress?.({ phase: 'count', done: n });
    }
    o.onProgress?.({ phase: 'count', done: n });
    return counts;
  }

  /** BPE merges over the word counts; returns the vocab in id order. */
  private learn(counts: Map<string, number>): string[] {
    const o = this.options;
    const prefix = o.continuingSubwordPrefix ?? '##';
    const specials = [...new Set(o.specialTokens ?? DEFAULT_SPECIALS)];

    // Alphabet: characters by frequency, optionally limited, plus the initial alphabet.
    const charFreq = new Map<string, number>();
    for (const [w, c] of counts) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + c);
    let chars = [...charFreq.keys()].sort((a, b) => charFreq.get(b)! - charFreq.get(a)! || (a < b ? -1 : 1));
    if (o.limitAlphabet !== undefined) chars = chars.slice(0, o.limitAlphabet);
    const alphabet = [...new Set([...(o.initialAlphabet ?? []), ...chars])].sort();

    const vocab: string[] = [];
    const ids = new Map<string, number>();
    const intern = (t: string): number => {
      let id = ids.get(t);
      if (id === undefined) {
        id = vocab.length;
        vocab.push(t);
        ids.set(t, id);
      }
      return id;
    };
    for (const s of specials) intern(s);
    for (const ch of alphabet) intern(ch);
    for (const ch of alphabet) intern(prefix + ch);
    if (vocab.length > o.vocabSize) {
      throw new TokenizerError(
        `WordPieceTrainer: ${specials.length} special tokens and ${alphabet.length} characters (each also as ${prefix}c) ` +
          `need ${vocab.length} entries, more than vocabSize ${o.vocabSize}; raise vocabSize or set limitAlphabet`,
      );
    }

    // Words as symbol sequences; words with a character outside the alphabet are left out.
    const words: number[][] = [];
    const freqs: number[] = [];
    for (const [w, c] of counts) {
      const syms: number[] = [];
      let ok = true;
      let first = true;
      for (const ch of w) {
        const id = ids.get(first ? ch : prefix + ch);
        if (id === undefined) {
          ok = false;
          break;
        }
        syms.push(id);
        first = false;
      }
      if (ok && syms.length > 1) {
        words.push(syms);
        freqs.push(c);
      }
    }
    const pairs = new PairIndex();
    words.forEach((syms, wi) => {
      for (let k = 0; k + 1 < syms.length; k++) pairs.add(syms[k], syms[k + 1], freqs[wi], wi);
    });

    const minFrequency = o.minFrequency ?? 2;
    while (vocab.length < o.vocabSize) {
      const best = pairs.popBest(minFrequency);
      if (best === undefined) break; // nothing left worth merging: the vocab stays smaller
      const [a, b] = best;
      const right = vocab[b];
      const merged = intern(vocab[a] + (right.startsWith(prefix) ? right.slice(prefix.length) : right));
      for (const wi of pairs.wordsWith(a, b)) mergeInWord(words[wi], a, b, merged, freqs[wi], wi, pairs);
      pairs.drop(a, b);
      if (vocab.length % 1000 === 0)
        o.onProgress?.({ phase: 'merge', done: vocab.length, total: o.vocabSize });
    }
    o.onProgress?.({ phase: 'merge', done: vocab.length, total: o.vocabSize });
    return vocab;
  }
}

/** Replaces each (a, b) in a word by `merged`, keeping the pair counts of its neighbours right. */
function mergeInWord(
  syms: number[],
  a: number,
  b: number,
  merged: number,
  freq: number,
  wi: number,
  pairs: PairIndex,
) {
  for (let k = 0; k + 1 < syms.length; k++) {
    if (syms[k] !== a || syms[k + 1] !== b) continue;
    if (k > 0) {
      pairs.add(syms[k - 1], a, -freq, wi);
      pairs.add(syms[k - 1], merged, freq, wi);
    }
    if (k + 2 < syms.length) {
      pairs.add(b, syms[k + 2], -freq, wi);
      pairs.add(merged, syms[k + 2], freq, wi);
    }
    syms.splice(k, 2, merged);
  }
}

const KEY = 2 ** 24; // symbol ids stay below this

/** Pair → count and the words holding it, with a max-heap (lazy: stale entries are skipped when popped). */
class PairIndex {
  private readonly count = new Map<number, number>();
  private readonly where = new Map<number, Set<number>>();
  private readonly heap: Array<[count: number, key: number]> = [];

  add(a: number, b: number, delta: number, word: number): void {
    const key = a * KEY + b;
    const c = (this.count.get(key) ?? 0) + delta;
    this.count.set(key, c);
    if (delta > 0) {
      const set = this.where.get(key);
      if (set === undefined) this.where.set(key, new Set([word]));
      else set.add(word);
      this.push([c, key]);
    }
  }

  wordsWith(a: number, b: number): number[] {
    return [...(this.where.get(a * KEY + b) ?? [])];
  }

  drop(a: number, b: number): void {
    const key = a * KEY + b;
    this.count.delete(key);
    this.where.delete(key);
  }

  /** The most frequent pair (ties: smaller ids first), if its count reaches minFrequency. */
  popBest(minFrequency: number): [number, number] | undefined {
    while (this.heap.length > 0) {
      const [c, key] = this.pop();
      const now = this.count.get(key) ?? 0;
      if (now !== c) {
        if (now > 0 && now < c) this.push([now, key]); // stale: requeue with its current count
        continue;
      }
      if (c < minFrequency || c <= 0) return undefined;
      return [Math.floor(key / KEY), key % KEY];
    }
    return undefined;
  }

  private better(x: [number, number], y: [number, number]): boolean {
    return x[0] > y[0] || (x[0] === y[0] && x[1] < y[1]);
  }

  private push(e: [number, number]): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.better(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): [number, number] {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.better(h[l], h[m])) m = l;
        if (r < h.length && this.better(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function specialOptions(specials: string[]) {
  const pick = (name: string) => (specials.includes(name) ? name : undefined);
  const named = ['[UNK]', '[SEP]', '[PAD]', '[CLS]', '[MASK]'];
  const extra = specials.filter((s) => !named.includes(s));
  return {
    unkToken: pick('[UNK]'),
    sepToken: pick('[SEP]'),
    padToken: pick('[PAD]'),
    clsToken: pick('[CLS]'),
    maskToken: pick('[MASK]'),
    ...(extra.length > 0 ? { additionalSpecialTokens: extra } : {}),
  };
}
