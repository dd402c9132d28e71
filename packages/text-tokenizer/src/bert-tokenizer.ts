import { type BertTokenizerOptions, configFromOptions, optionsFromConfig } from './config.js';
import { Encoding, type Sequence, sliceSequence, type TruncationStrategy, truncatePair } from './encoding.js';
import { TokenizerConfigError, TokenizerError, VocabError } from './errors.js';
import { joinLocation, readTextIfExists, writeTextAtomic } from './io.js';
import { BertPreTokenizer, type WordSink } from './pre-tokenizer.js';
import { buildTokenizerJson, parseTokenizerJson } from './tokenizer-json.js';
import { pythonStrip } from './unicode.js';
import { buildVocab, parseVocabText, type Vocab, vocabFromMap } from './vocab.js';
import { WordPiece } from './wordpiece.js';

export interface EncodeOptions {
  /** Add [CLS] … [SEP] (… [SEP]) and token type ids (default true). */
  addSpecialTokens?: boolean;
  /** Total length including special tokens; defaults to modelMaxLength when truncating or padding to max_length. */
  maxLength?: number;
  /** true = 'longest_first'. Left unset with a maxLength and no padding, it is 'longest_first' (as transformers). */
  truncation?: boolean | TruncationStrategy;
  /** 'max_length' pads to maxLength; true / 'longest' pads a batch to its longest entry. */
  padding?: boolean | 'longest' | 'max_length';
  /** With returnOverflowing: tokens shared by consecutive windows. */
  stride?: number;
  /** Keep what truncation cut, as further windows in `encoding.overflowing`. */
  returnOverflowing?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Remove the space before . ? ! , and in 's n't … (default: the tokenizer's cleanUpTokenizationSpaces). */
  cleanUpTokenizationSpaces?: boolean;
}

/** File contents for fromFiles(): what fromPretrained() reads from a folder or URL. */
export interface TokenizerFiles {
  vocab?: string;
  tokenizerConfig?: string | object;
  specialTokensMap?: string | object;
  tokenizerJson?: string | object;
}

/** Accumulates the tokens of one text: WordPiece on each word from the pre-tokenizer. */
class SequenceSink implements WordSink {
  readonly ids: number[] = [];
  readonly tokens: string[] = [];
  readonly offsets: number[] = [];
  constructor(private readonly t: BertTokenizer) {}

  asciiWord(text: string, start: number, end: number, lower: boolean, hash: number): void {
    const wp = this.t.wordPiece;
    const at = wp.asciiPieces(text, start, end, lower, hash);
    const pool = wp.pool; // [n, id0, end0, ...] at `at`
    const names = this.t.idToToken;
    let s = start;
    for (let k = at + 1, last = at + 1 + 2 * pool[at]; k < last; k += 2) {
      const id = pool[k];
      const e = start + pool[k + 1];
      this.ids.push(id);
      this.tokens.push(names[id]);
      this.offsets.push(s, e);
      s = e;
    }
  }

  word(word: string, base: number, map: Int32Array | null): void {
    const pieces = this.t.wordPiece.pieces(word); // [id0, end0, ...]
    const names = this.t.idToToken;
    let start = 0;
    for (let k = 0; k < pieces.length; k += 2) {
      const id = pieces[k];
      const end = pieces[k + 1];
      this.ids.push(id);
      this.tokens.push(names[id]);
      if (map === null) this.offsets.push(base + start, base + end);
      else this.offsets.push(map[2 * start], map[2 * end - 1]);
      start = end;
    }
  }

  char(cp: number, start: number, end: number): void {
    const id = this.t.charId(cp);
    this.ids.push(id);
    this.tokens.push(this.t.idToToken[id]);
    this.offsets.push(start, end);
  }

  whole(token: string, start: number, end: number): void {
    this.ids.push(this.t.tokenToId(token));
    this.tokens.push(token);
    this.offsets.push(start, end);
  }
}

/**
 * BERT's WordPiece tokenizer, token for token identical to transformers' (slow, reference) BertTokenizer 4.31
 * loaded with from_pretrained: same cleaning, CJK split, NFC, lower-casing and accent stripping, punctuation
 * split, special tokens kept whole in running text, WordPiece, truncation, padding and decode clean-up.
 */
export class BertTokenizer {
  readonly vocabSize: number;
  readonly modelMaxLength: number;
  readonly doLowerCase: boolean;
  readonly stripAccents: boolean | null;
  readonly tokenizeChineseChars: boolean;
  readonly cleanUpTokenizationSpaces: boolean;
  readonly unkToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly clsToken: string;
  readonly maskToken: string;
  readonly unkTokenId: number;
  readonly sepTokenId: number;
  readonly padTokenId: number;
  readonly clsTokenId: number;
  readonly maskTokenId: number;
  /** All special tokens (unk, sep, pad, cls, mask, then additional ones), split out of running text. */
  readonly allSpecialTokens: readonly string[];
  /** @internal */ readonly wordPiece: WordPiece;
  /** @internal */ readonly idToToken: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;
  private readonly preTokenizer: BertPreTokenizer;
  private readonly specialIds: Set<number>;
  private readonly charIds = new Map<number, number>();
  private readonly opts: Required<Omit<BertTokenizerOptions, 'stripAccents'>>;

  private constructor(vocab: Vocab, options: BertTokenizerOptions, source: string) {
    const o = {
      doLowerCase: options.doLowerCase ?? true,
      tokenizeChineseChars: options.tokenizeChineseChars ?? true,
      neverSplit: options.neverSplit ?? [],
      unkToken: options.unkToken ?? '[UNK]',
      sepToken: options.sepToken ?? '[SEP]',
      padToken: options.padToken ?? '[PAD]',
      clsToken: options.clsToken ?? '[CLS]',
      maskToken: options.maskToken ?? '[MASK]',
      additionalSpecialTokens: options.additionalSpecialTokens ?? [],
      modelMaxLength: options.modelMaxLength ?? Number.POSITIVE_INFINITY,
      cleanUpTokenizationSpaces: options.cleanUpTokenizationSpaces ?? true,
      maxInputCharsPerWord: options.maxInputCharsPerWord ?? 100,
      continuingSubwordPrefix: options.continuingSubwordPrefix ?? '##',
    };
    this.opts = o;
    this.idToToken = vocab.tokens;
    this.ids = vocab.ids;
    this.vocabSize = vocab.tokens.length;
    const unk = vocab.ids.get(o.unkToken);
    if (unk === undefined) {
      throw new VocabError(
        `${source}: the unknown token ${JSON.stringify(o.unkToken)} is not in the vocabulary`,
      );
    }
    if (!(o.modelMaxLength > 0)) throw new TokenizerConfigError(`${source}: modelMaxLength must be positive`);
    this.unkTokenId = unk;
    this.modelMaxLength = o.modelMaxLength;
    this.doLowerCase = o.doLowerCase;
    this.stripAccents = options.stripAccents ?? null;
    this.tokenizeChineseChars = o.tokenizeChineseChars;
    this.cleanUpTokenizationSpaces = o.cleanUpTokenizationSpaces;
    this.unkToken = o.unkToken;
    this.sepToken = o.sepToken;
    this.padToken = o.padToken;
    this.clsToken = o.clsToken;
    this.maskToken = o.maskToken;
    // As transformers: a special token missing from the vocab maps to [UNK].
    this.sepTokenId = this.tokenToId(o.sepToken);
    this.padTokenId = this.tokenToId(o.padToken);
    this.clsTokenId = this.tokenToId(o.clsToken);
    this.maskTokenId = this.tokenToId(o.maskToken);
    this.allSpecialTokens = [
      ...new Set([o.unkToken, o.sepToken, o.padToken, o.clsToken, o.maskToken, ...o.additionalSpecialTokens]),
    ];
    this.specialIds = new Set(this.allSpecialTokens.map((t) => this.tokenToId(t)));
    this.wordPiece = new WordPiece(vocab.ids, {
      unkId: unk,
      prefix: o.continuingSubwordPrefix,
      maxInputCharsPerWord: o.maxInputCharsPerWord,
    });
    this.preTokenizer = new BertPreTokenizer({
      lowercase: o.doLowerCase,
      // strip_accents=None follows do_lower_case.
      stripAccents: options.stripAccents ?? o.doLowerCase,
      tokenizeChineseChars: o.tokenizeChineseChars,
      specialTokens: this.allSpecialTokens,
      neverSplit: [...o.neverSplit, ...this.allSpecialTokens],
    });
  }

  /**
   * From a vocabulary: the lines of vocab.txt (string[]), the text of vocab.txt (string), or token → id (Map).
   */
  static fromVocab(
    vocab: readonly string[] | string | ReadonlyMap<string, number>,
    options: BertTokenizerOptions = {},
    source = 'vocab',
  ): BertTokenizer {
    let v: Vocab;
    if (typeof vocab === 'string') v = buildVocab(parseVocabText(vocab), source);
    else if (Array.isArray(vocab)) v = buildVocab(vocab as readonly string[], source);
    else if (vocab instanceof Map) v = vocabFromMap(vocab, source);
    else
      throw new VocabError(`${source}: expected string[], the text of vocab.txt, or a Map<string, number>`);
    return new BertTokenizer(v, options, source);
  }

  /** From a tokenizer.json (object or text); `config` (tokenizer_config.json) overrides what it sets. */
  static fromTokenizerJson(
    json: string | object,
    config?: string | object,
    source = 'tokenizer.json',
  ): BertTokenizer {
    const { vocab, options } = parseTokenizerJson(json, source);
    const cfg = config === undefined ? {} : optionsFromConfig(parseConfig(config, 'tokenizer_config.json'));
    return new BertTokenizer(vocab, { ...options, ...cfg }, source);
  }

  /** From file contents (browser-friendly): vocab.txt (+ tokenizer_config.json), or else tokenizer.json. */
  static fromFiles(files: TokenizerFiles, source = 'files'): BertTokenizer {
    const cfg =
      files.tokenizerConfig === undefined
        ? undefined
        : parseConfig(files.tokenizerConfig, `${source}/tokenizer_config.json`);
    if (files.vocab !== undefined) {
      const options = cfg === undefined ? {} : optionsFromConfig(cfg, `${source}/tokenizer_config.json`);
      if (files.specialTokensMap !== undefined) {
        const stm = parseConfig(files.specialTokensMap, `${source}/special_tokens_map.json`);
        Object.assign(options, optionsFromConfig(stm, `${source}/special_tokens_map.json`));
      }
      return BertTokenizer.fromVocab(files.vocab, options, `${source}/vocab.txt`);
    }
    if (files.tokenizerJson !== undefined) {
      return BertTokenizer.fromTokenizerJson(files.tokenizerJson, cfg, `${source}/tokenizer.json`);
    }
    throw new TokenizerError(`${source}: neither vocab.txt nor tokenizer.json was given`);
  }

  /**
   * From a model folder (Node) or a URL prefix (fetch): vocab.txt + tokenizer_config.json (+
   * special_tokens_map.json), as transformers' from_pretrained; or tokenizer.json when there is no vocab.txt.
   */
  static async fromPretrained(
    dirOrUrl: string,
    /** `fetch`: how URLs are read (default the global fetch); pipelines pass one that caches. */
    opts: { fetch?: (url: string) => Promise<Response> } = {},
  ): Promise<BertTokenizer> {
    const read = (name: string) => readTextIfExists(joinLocation(dirOrUrl, name), opts.fetch);
    const vocab = await read('vocab.txt');
    const [tokenizerConfig, specialTokensMap, tokenizerJson] = await Promise.all([
      read('tokenizer_config.json'),
      read('special_tokens_map.json'),
      vocab === undefined ? read('tokenizer.json') : undefined,
    ]);
    if (vocab === undefined && tokenizerJson === undefined) {
      throw new TokenizerError(`${dirOrUrl}: no vocab.txt or tokenizer.json there`);
    }
    return BertTokenizer.fromFiles({ vocab, tokenizerConfig, specialTokensMap, tokenizerJson }, dirOrUrl);
  }

  /** Word pieces of a text, special tokens kept whole (no [CLS]/[SEP] added). */
  tokenize(text: string): string[] {
    return this.sequence(text, 'text').tokens;
  }

  /** BasicTokenizer.tokenize(text, never_split=specials) alone: the words before WordPiece. */
  basicTokenize(text: string): string[] {
    checkText(text, 'text');
    const out: string[] = [];
    this.preTokenizer.run(
      text,
      {
        word: (w) => out.push(w),
        asciiWord: (t, s, e, lower) => out.push(lower ? t.slice(s, e).toLowerCase() : t.slice(s, e)),
        char: (cp) => out.push(String.fromCodePoint(cp)),
        whole: (t) => out.push(t),
      },
      true,
    );
    return out;
  }

  /**
   * A prefix of `text` whose tokens, cut to `maxLength` with [CLS] and [SEP], are the whole text's, cut the same
   * way: a model that takes 512 tokens then costs 512 tokens of WordPiece, not the 10 MB someone posted. The cut
   * falls on a space, tab, CR or LF, which end a word in every step of the pre-tokenizer (\v and \f do not: they
   * are control characters it deletes), so the prefix's tokens are the first tokens of the text. The bound starts
   * at 8 characters a token and doubles until the prefix holds maxLength tokens (or is the text).
   */
  truncationPrefix(text: string, maxLength: number): string {
    checkText(text, 'text');
    if (!(Number.isInteger(maxLength) && maxLength > 0))
      throw new TokenizerError(`truncationPrefix: maxLength must be a positive integer, got ${maxLength}`);
    // A special token with a space inside could straddle the cut: keep such a vocabulary on the slow path.
    if (this.allSpecialTokens.some((t) => /[ \t\n\r]/.test(t))) return text;
    const wordEnd = /[ \t\n\r]/g;
    for (let bound = Math.max(256, 8 * maxLength); bound < text.length; bound *= 2) {
      wordEnd.lastIndex = bound;
      const m = wordEnd.exec(text);
      if (m === null) return text;
      const prefix = text.slice(0, m.index);
      if (this.sequence(prefix, 'text').ids.length + 2 >= maxLength) return prefix;
    }
    return text;
  }

  /** Model inputs for a text or a pair of texts. `encode(text, options)` is also accepted. */
  encode(text: string, pair?: string | null | EncodeOptions, options: EncodeOptions = {}): Encoding {
    if (pair !== null && typeof pair === 'object') return this.encode(text, null, pair);
    const a = this.sequence(text, 'text');
    const b = pair === undefined || pair === null ? null : this.sequence(pair, 'pair');
    return this.finish(a, b, options);
  }

  /** Encodes many texts (or [text, pair] tuples); padding 'longest' / true pads all to the longest. */
  encodeBatch(
    inputs: ReadonlyArray<string | readonly [string, string]>,
    options: EncodeOptions = {},
  ): Encoding[] {
    if (!Array.isArray(inputs)) throw new TokenizerError('encodeBatch: inputs must be an array');
    const out = inputs.map((x, i) => {
      if (typeof x === 'string') return this.finish(this.sequence(x, `inputs[${i}]`), null, options);
      if (!Array.isArray(x) || x.length !== 2)
        throw new TokenizerError(`encodeBatch: inputs[${i}] must be a string or [text, pair]`);
      return this.finish(
        this.sequence(x[0], `inputs[${i}][0]`),
        this.sequence(x[1], `inputs[${i}][1]`),
        options,
      );
    });
    if (options.padding === true || options.padding === 'longest') {
      const all = out.flatMap((e) => [e, ...(e.overflowing ?? [])]);
      const longest = Math.max(0, ...all.map((e) => e.length));
      for (const e of all) this.pad(e, longest);
    }
    return out;
  }

  /** Text from ids: tokens joined by spaces, `##` pieces glued, then (by default) transformers' clean-up. */
  decode(ids: Iterable<number> | ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const parts: string[] = [];
    if (typeof ids !== 'object' || ids === null)
      throw new TokenizerError('decode: ids must be an array of numbers');
    const list = Symbol.iterator in ids ? (ids as Iterable<number>) : Array.from(ids as ArrayLike<number>);
    for (const id of list) {
      if (!Number.isInteger(id)) throw new TokenizerError(`decode: ${String(id)} is not an integer id`);
      if (skip && this.specialIds.has(id)) continue;
      parts.push(this.idToToken[id] ?? this.unkToken);
    }
    let text = pythonStrip(parts.join(' ').replaceAll(` ${this.opts.continuingSubwordPrefix}`, ''));
    if (options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces) text = cleanUpTokenization(text);
    return text;
  }

  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: readonly string[]): number[];
  convertTokensToIds(tokens: string | readonly string[]): number | number[] {
    if (typeof tokens === 'string') return this.tokenToId(tokens);
    if (!Array.isArray(tokens)) throw new TokenizerError('convertTokensToIds: expected a string or string[]');
    return tokens.map((t) => this.tokenToId(t));
  }

  convertIdsToTokens(ids: number): string;
  convertIdsToTokens(ids: readonly number[]): string[];
  convertIdsToTokens(ids: number | readonly number[]): string | string[] {
    const one = (id: number) => this.idToToken[id] ?? this.unkToken;
    if (typeof ids === 'number') return one(ids);
    if (!Array.isArray(ids)) throw new TokenizerError('convertIdsToTokens: expected a number or number[]');
    return ids.map(one);
  }

  /** The vocabulary, id order. */
  getVocab(): readonly string[] {
    return this.idToToken;
  }

  /** tokenizer_config.json as transformers writes it. */
  toConfig(): Record<string, unknown> {
    return configFromOptions({ ...this.opts, stripAccents: this.stripAccents });
  }

  /** tokenizer.json for Hugging Face `tokenizers` (Rust, Python, tokenizers.js). */
  toTokenizerJson(): Record<string, unknown> {
    return buildTokenizerJson({
      vocab: this.idToToken,
      ids: this.ids,
      doLowerCase: this.doLowerCase,
      stripAccents: this.stripAccents,
      tokenizeChineseChars: this.tokenizeChineseChars,
      specialTokens: this.allSpecialTokens,
      clsToken: this.clsToken,
      sepToken: this.sepToken,
      unkToken: this.unkToken,
      prefix: this.opts.continuingSubwordPrefix,
      maxInputCharsPerWord: this.opts.maxInputCharsPerWord,
      cleanUp: this.cleanUpTokenizationSpaces,
    });
  }

  /** Writes vocab.txt, tokenizer_config.json, special_tokens_map.json and tokenizer.json (each atomically). */
  async save(dir: string): Promise<void> {
    const specialMap = {
      unk_token: this.unkToken,
      sep_token: this.sepToken,
      pad_token: this.padToken,
      cls_token: this.clsToken,
      mask_token: this.maskToken,
      ...(this.opts.additionalSpecialTokens.length > 0
        ? { additional_special_tokens: this.opts.additionalSpecialTokens }
        : {}),
    };
    await writeTextAtomic(dir, 'vocab.txt', `${this.idToToken.join('\n')}\n`);
    await writeTextAtomic(dir, 'tokenizer_config.json', `${JSON.stringify(this.toConfig(), null, 2)}\n`);
    await writeTextAtomic(dir, 'special_tokens_map.json', `${JSON.stringify(specialMap, null, 2)}\n`);
    await writeTextAtomic(dir, 'tokenizer.json', JSON.stringify(this.toTokenizerJson()));
  }

  /** @internal id of a token, or [UNK]'s. */
  tokenToId(token: string): number {
    return this.ids.get(token) ?? this.unkTokenId;
  }

  /** @internal id of a lone CJK ideograph (a one-char word: itself or [UNK]). */
  charId(cp: number): number {
    let id = this.charIds.get(cp);
    if (id === undefined) {
      id = this.tokenToId(String.fromCodePoint(cp));
      this.charIds.set(cp, id);
    }
    return id;
  }

  private sequence(text: string, what: string): Sequence {
    checkText(text, what);
    const sink = new SequenceSink(this);
    this.preTokenizer.run(text, sink);
    return sink;
  }

  private finish(a: Sequence, b: Sequence | null, options: EncodeOptions): Encoding {
    const add = options.addSpecialTokens ?? true;
    let { truncation, maxLength } = options;
    const padding = options.padding ?? false;
    if (![false, true, 'longest', 'max_length'].includes(padding)) {
      throw new TokenizerError(
        `encode: padding must be true, false, 'longest' or 'max_length', got ${JSON.stringify(padding)}`,
      );
    }
    if (truncation === undefined && maxLength !== undefined && padding === false)
      truncation = 'longest_first';
    const strategy: TruncationStrategy | null = truncation === true ? 'longest_first' : truncation || null;
    if (
      maxLength === undefined &&
      (strategy !== null || padding === 'max_length') &&
      Number.isFinite(this.modelMaxLength)
    ) {
      maxLength = this.modelMaxLength;
    }
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new TokenizerError(`encode: maxLength must be a positive integer, got ${maxLength}`);
    }
    const specials = add ? (b === null ? 2 : 3) : 0;
    const total = a.ids.length + (b === null ? 0 : b.ids.length) + specials;
    let windows: Encoding[] | undefined;
    if (strategy !== null && maxLength !== undefined && total > maxLength) {
      if (options.returnOverflowing && strategy === 'longest_first' && b !== null) {
        throw new TokenizerError(
          "encode: overflowing tokens of a pair need truncation 'only_first' or 'only_second', not 'longest_first'",
        );
      }
      const cut = truncatePair(a, b, total - maxLength, strategy);
      if (options.returnOverflowing && cut.cut !== -1) {
        windows = this.overflowWindows(
          a,
          b,
          cut.cut,
          (cut.cut === 0 ? cut.a : cut.b!).ids.length,
          options,
          add,
        );
      }
      a = cut.a;
      b = cut.b;
    }
    const enc = this.assemble(a, b, add);
    if (padding === 'max_length' && maxLength !== undefined) this.pad(enc, maxLength);
    if (windows !== undefined) {
      if (padding === 'max_length' && maxLength !== undefined)
        for (const w of windows) this.pad(w, maxLength);
      enc.overflowing = windows;
    } else if (options.returnOverflowing) enc.overflowing = [];
    return enc;
  }

  /** The windows after the first one: `kept` tokens each, overlapping by `stride`, until the sequence ends. */
  private overflowWindows(
    a: Sequence,
    b: Sequence | null,
    which: 0 | 1,
    kept: number,
    options: EncodeOptions,
    add: boolean,
  ): Encoding[] {
    const full = which === 0 ? a : b!;
    const stride = options.stride ?? 0;
    if (!(Number.isInteger(stride) && stride >= 0 && stride < kept)) {
      throw new TokenizerError(
        `encode: stride must be an integer in [0, ${kept}) for this maxLength, got ${stride}`,
      );
    }
    const step = kept - stride;
    const out: Encoding[] = [];
    for (let start = step, end = kept; end < full.ids.length; start += step) {
      end = Math.min(full.ids.length, start + kept);
      const w = sliceSequence(full, start, end);
      out.push(which === 0 ? this.assemble(w, b, add) : this.assemble(a, w, add));
    }
    return out;
  }

  /** [CLS] A [SEP] (B [SEP]): token types 0 for the first part, 1 for the second; specials get offsets [0, 0]. */
  private assemble(a: Sequence, b: Sequence | null, add: boolean): Encoding {
    const cls = add ? [this.clsTokenId] : [];
    const sep = add ? [this.sepTokenId] : [];
    const clsT = add ? [this.clsToken] : [];
    const sepT = add ? [this.sepToken] : [];
    const none = add ? [0, 0] : [];
    let ids = cls.concat(a.ids, sep);
    let tokens = clsT.concat(a.tokens, sepT);
    let offsets = none.concat(a.offsets, none);
    const first = ids.length;
    if (b !== null) {
      ids = ids.concat(b.ids, sep);
      tokens = tokens.concat(b.tokens, sepT);
      offsets = offsets.concat(b.offsets, none);
    }
    const types = new Array<number>(ids.length).fill(0, 0, first).fill(add ? 1 : 0, first);
    return new Encoding(ids, types, new Array<number>(ids.length).fill(1), tokens, offsets);
  }

  /** Right padding up to `length` ([PAD], token type 0, attention 0); longer encodings are left as they are. */
  private pad(e: Encoding, length: number): void {
    for (let i = e.length; i < length; i++) {
      e.inputIds.push(this.padTokenId);
      e.tokenTypeIds.push(0);
      e.attentionMask.push(0);
      e.tokens.push(this.padToken);
      e.offsetPairs.push(0, 0);
    }
  }
}

function checkText(text: unknown, what: string): asserts text is string {
  if (typeof text !== 'string')
    throw new TokenizerError(`${what} must be a string, got ${text === null ? 'null' : typeof text}`);
}

function parseConfig(cfg: string | object, source: string): object {
  if (typeof cfg !== 'string') return cfg;
  try {
    return JSON.parse(cfg) as object;
  } catch (e) {
    throw new TokenizerConfigError(`${source}: invalid JSON (${(e as Error).message})`);
  }
}

/** transformers' PreTrainedTokenizerBase.clean_up_tokenization. */
export function cleanUpTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
