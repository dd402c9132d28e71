import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, TokenizerConfigError, TokenizerError, VocabError } from './index.js';

// A small hand-made vocab: ids are the line numbers.
const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'hello',
  'world',
  '##s',
  'un',
  '##aff',
  '##able',
  ',',
  '!',
  'a',
  '##a',
  '中',
  '😀',
];
const tok = BertTokenizer.fromVocab(VOCAB);

describe('BertTokenizer on hand-computed cases', () => {
  it('WordPiece longest match first, [UNK] for unmatched words, specials kept whole', () => {
    expect(tok.tokenize('Hello, worlds! unaffable xyz')).toEqual([
      'hello',
      ',',
      'world',
      '##s',
      '!',
      'un',
      '##aff',
      '##able',
      '[UNK]',
    ]);
    expect(tok.encode('hello[MASK]world').inputIds).toEqual([2, 5, 4, 6, 3]);
    expect(tok.encode('hello', 'world').tokenTypeIds).toEqual([0, 0, 0, 1, 1]);
  });

  it('offsets point into the original text, also around removed chars and astral chars', () => {
    const text = 'He\u200bllo 😀中 Wörld';
    const enc = tok.encode(text);
    expect(enc.tokens).toEqual(['[CLS]', 'hello', '😀', '中', 'world', '[SEP]']);
    expect(enc.offsets).toEqual([
      [0, 0],
      [0, 6],
      [7, 9],
      [9, 10],
      [11, 16],
      [0, 0],
    ]);
  });

  it('words over 100 code points become [UNK], counting astral chars once', () => {
    expect(tok.tokenize('a'.repeat(100))).toEqual(['a', ...Array(99).fill('##a')]);
    expect(tok.tokenize('a'.repeat(101))).toEqual(['[UNK]']);
    expect(tok.tokenize('😀'.repeat(2))).toEqual(['[UNK]']); // no "##😀" in the vocab
  });

  it('lone surrogates are dropped like any category-C char, never thrown on', () => {
    expect(tok.tokenize('hello\ud800world \udc00 \ud83d')).toEqual(['[UNK]']);
    expect(tok.tokenize('\ud800hello')).toEqual(['hello']);
    expect(tok.decode(tok.encode('a\udfff').inputIds, { skipSpecialTokens: true })).toBe('a');
  });

  it('a 1 MB string tokenizes in linear time (no backtracking) with offsets inside the text', () => {
    const unit = 'hello, world! 中 unaffable Wörld\u00a0\t';
    const big = unit.repeat(Math.ceil(1e6 / unit.length));
    const enc = tok.encode(big);
    const perUnit = tok.tokenize(unit).length;
    expect(enc.inputIds.length).toBe(perUnit * Math.ceil(1e6 / unit.length) + 2);
    const last = enc.offsetPairs[enc.offsetPairs.length - 3];
    expect(last).toBeLessThanOrEqual(big.length);
    // One 1 MB word: a single [UNK], not a quadratic WordPiece search.
    expect(tok.tokenize('a'.repeat(1_000_000))).toEqual(['[UNK]']);
  });

  it('the word cache stays right when it fills up and starts over (100k distinct words)', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const t = BertTokenizer.fromVocab(['[UNK]', ...letters, ...[...letters].map((c) => `##${c}`)]);
    const words: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      let w = '';
      for (let n = i + 26 ** 7; n > 0; n = Math.floor(n / 26)) w += letters[n % 26]; // 8 letters: 26 Int32s cached
      words.push(i % 3 === 0 ? w.toUpperCase() : w);
    }
    const text = words.join(' ');
    for (let pass = 0; pass < 2; pass++) {
      const tokens = t.tokenize(text);
      expect(tokens.length).toBe(words.reduce((n, w) => n + w.length, 0));
      expect(tokens.join('').replaceAll('##', '')).toBe(words.join('').toLowerCase());
    }
  });

  it('truncation, padding and overflow windows with stride', () => {
    const text = 'hello world hello world hello world'; // 6 tokens
    const enc = tok.encode(text, null, {
      maxLength: 5,
      truncation: true,
      returnOverflowing: true,
      stride: 1,
    });
    expect(enc.inputIds).toEqual([2, 5, 6, 5, 3]);
    // 3 tokens per window, windows start every 3 - stride = 2 tokens: [0,3) [2,5) [4,6).
    expect(enc.overflowing!.map((e) => e.inputIds)).toEqual([
      [2, 5, 6, 5, 3],
      [2, 5, 6, 3],
    ]);
    const padded = tok.encode('hello', null, { maxLength: 5, padding: 'max_length' });
    expect(padded.inputIds).toEqual([2, 5, 3, 0, 0]);
    expect(padded.attentionMask).toEqual([1, 1, 1, 0, 0]);
    expect(() => tok.encode('a', 'b', { maxLength: 3, returnOverflowing: true })).toThrow(TokenizerError);
    expect(() => tok.encode('a', null, { maxLength: 0 })).toThrow(TokenizerError);
  });

  it('decode skips specials and cleans up spaces as transformers does', () => {
    const ids = [2, 5, 11, 6, 7, 12, 8, 9, 10, 3]; // [CLS] hello , world ##s ! un ##aff ##able [SEP]
    expect(tok.decode(ids)).toBe('[CLS] hello, worlds! unaffable [SEP]');
    expect(tok.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe(
      'hello , worlds ! unaffable',
    );
    expect(() => tok.decode([1.5])).toThrow(TokenizerError);
  });
});

describe('bad vocabularies and inputs give typed errors', () => {
  it('empty vocab, duplicates, missing [UNK]', () => {
    expect(() => BertTokenizer.fromVocab([])).toThrow(VocabError);
    expect(() => BertTokenizer.fromVocab('')).toThrow(/empty/);
    expect(() => BertTokenizer.fromVocab('[UNK]\na\nb\na\n', {}, 'my/vocab.txt')).toThrow(
      /my\/vocab.txt: duplicate tokens "a" \(lines 2 and 4\)/,
    );
    expect(() => BertTokenizer.fromVocab(['a', 'b'])).toThrow(/"\[UNK\]" is not in the vocabulary/);
    expect(() =>
      BertTokenizer.fromVocab(
        new Map([
          ['[UNK]', 0],
          ['a', 2],
        ]),
      ),
    ).toThrow(VocabError);
  });

  it('non-string input and bad config files', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(TokenizerError);
    expect(() => tok.encode('a', null, { padding: 'bogus' as never })).toThrow(TokenizerError);
    expect(() => tok.encode('a', 'b', { truncation: 'bogus' as never, maxLength: 2 })).toThrow(
      TokenizerError,
    );
    expect(() => tok.decode(null as never)).toThrow(TokenizerError);
    expect(() => tok.convertIdsToTokens('x' as never)).toThrow(TokenizerError);
    expect(() => tok.encodeBatch(['a', 3 as unknown as string])).toThrow(/inputs\[1\]/);
    expect(() => BertTokenizer.fromFiles({ vocab: VOCAB.join('\n'), tokenizerConfig: '{oops' })).toThrow(
      TokenizerConfigError,
    );
    expect(() => BertTokenizer.fromTokenizerJson({ model: { type: 'BPE', vocab: {} } })).toThrow(/BPE/);
  });

  it('fromPretrained on a folder without files names the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tt-empty-'));
    await expect(BertTokenizer.fromPretrained(dir)).rejects.toThrow(new RegExp(`${dir}: no vocab.txt`));
    await rm(dir, { recursive: true });
  });
});

describe('save / load round trip', () => {
  it('save(dir) writes vocab.txt, tokenizer_config.json and tokenizer.json that load back identically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tt-save-'));
    const cased = BertTokenizer.fromVocab(VOCAB, { doLowerCase: false, modelMaxLength: 7 });
    await cased.save(dir);
    expect((await readFile(join(dir, 'vocab.txt'), 'utf8')).split('\n').length).toBe(VOCAB.length + 1);
    const back = await BertTokenizer.fromPretrained(dir);
    const viaJson = BertTokenizer.fromTokenizerJson(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    const text = 'Hello hello, worlds! 中';
    for (const t of [back, viaJson]) {
      expect(t.doLowerCase).toBe(false);
      expect(t.tokenize(text)).toEqual(['[UNK]', 'hello', ',', 'world', '##s', '!', '中']);
    }
    // model_max_length lives in tokenizer_config.json (tokenizer.json has no such field).
    expect(back.modelMaxLength).toBe(7);
    expect(back.encode(text, null, { truncation: true }).inputIds.length).toBe(7);
    // A hand-edited file is read as transformers reads it: CRLF line ends are fine.
    await writeFile(join(dir, 'vocab.txt'), VOCAB.join('\r\n'));
    expect((await BertTokenizer.fromPretrained(dir)).vocabSize).toBe(VOCAB.length);
    await rm(dir, { recursive: true });
  });
});
