import { describe, expect, it } from 'vitest';
import { BertTokenizer, TokenizerError } from './index.js';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'hello',
  'world',
  '##s',
  'a',
  '##a',
  ',',
  '中',
  'e',
];
const tok = BertTokenizer.fromVocab(VOCAB);
const truncated = (text: string, maxLength: number) =>
  tok.encode(text, { maxLength, truncation: true }).inputIds;

/** Deterministic text mixing every case where a cut could change the tokens. */
function mixedText(chars: number): string {
  const pieces = [
    'hello',
    'worlds',
    'aaa',
    ',',
    '中中',
    'é',
    '\u0301',
    'Σ',
    'x'.repeat(120),
    '[MASK]',
    'a\vb',
    'a\fb',
  ];
  const spaces = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000'];
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let s = '';
  while (s.length < chars) s += pieces[next(pieces.length)] + spaces[next(spaces.length)];
  return s;
}

describe('BertTokenizer.truncationPrefix', () => {
  it('keeps exactly the tokens truncation would keep, and cuts far before the end', () => {
    const text = 'hello '.repeat(1000);
    const prefix = tok.truncationPrefix(text, 4);
    // first bound 256 characters, then the next space: "hello " × 42 + "hello" ends at 257
    expect(prefix.length).toBe(257);
    expect(truncated(prefix, 4)).toEqual([2, 5, 5, 3]);
    expect(truncated(text, 4)).toEqual([2, 5, 5, 3]);
  });

  it('equals tokenising the whole text then truncating, on mixed text and many lengths', () => {
    const text = mixedText(40_000);
    for (const maxLength of [3, 7, 32, 100, 512, 4000]) {
      const prefix = tok.truncationPrefix(text, maxLength);
      expect(text.startsWith(prefix)).toBe(true);
      expect(truncated(prefix, maxLength)).toEqual(truncated(text, maxLength));
    }
  });

  it('gives the whole text when it is short or has no space after the bound', () => {
    expect(tok.truncationPrefix('hello world', 2)).toBe('hello world');
    const oneWord = 'a'.repeat(5000);
    expect(tok.truncationPrefix(oneWord, 2)).toBe(oneWord);
  });

  it('tokenises a 10 MB text in milliseconds instead of seconds', () => {
    const big = 'hello worlds, aaa '.repeat(580_000); // 10.4 MB
    const started = performance.now();
    const ids = truncated(tok.truncationPrefix(big, 512), 512);
    const ms = performance.now() - started;
    expect(ids.length).toBe(512);
    expect(ids.slice(0, 6)).toEqual([2, 5, 6, 7, 10, 8]);
    expect(ms).toBeLessThan(100);
  });

  it('refuses a bad maxLength with a TokenizerError', () => {
    expect(() => tok.truncationPrefix('hello', 0)).toThrow(TokenizerError);
    expect(() => tok.truncationPrefix(5 as unknown as string, 8)).toThrow(TokenizerError);
  });
});
