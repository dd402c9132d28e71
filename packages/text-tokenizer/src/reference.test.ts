import { describe, expect, it } from 'vitest';
import { BertTokenizer } from './index.js';

/**
 * A literal, slow port of transformers 4.31's BertTokenizer.tokenize (string operations, regexes, no caches),
 * to check the one-pass implementation on random strings full of the awkward cases.
 */
const PY_SPACES = new Set([
  9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);
const isPySpace = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return PY_SPACES.has(cp) || (cp >= 0x2000 && cp <= 0x200a);
};
const isChinese = (cp: number) =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);
const isPunct = (ch: string) => /^[!-/:-@[-`{-~]$/.test(ch) || /^\p{P}$/u.test(ch);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface RefOptions {
  lower: boolean;
  strip: boolean;
  specials: string[];
  /** never_split: the specials and the user's list. */
  never: string[];
  vocab: ReadonlyMap<string, number>;
}

function basic(text: string, o: RefOptions, wholeLower: boolean): string[] {
  let clean = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || (/^\p{C}$/u.test(ch) && !'\t\n\r'.includes(ch))) continue;
    clean += ch === ' ' || '\t\n\r'.includes(ch) || /^\p{Zs}$/u.test(ch) ? ' ' : ch;
  }
  let spaced = '';
  for (const ch of clean) spaced += isChinese(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  const tokens = Array.from(spaced.normalize('NFC')).reduce<string[]>(
    (acc, ch) => {
      if (isPySpace(ch)) acc.push('');
      else acc[acc.length - 1] += ch;
      return acc;
    },
    [''],
  );
  const out: string[] = [];
  for (let t of tokens.filter(Boolean)) {
    if (o.never.includes(t)) {
      out.push(t);
      continue;
    }
    if (o.lower && wholeLower) t = t.toLowerCase();
    if (o.strip) t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
    let cur = '';
    for (const ch of t) {
      if (isPunct(ch)) {
        if (cur) out.push(cur);
        out.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) out.push(cur);
  }
  return out;
}

function wordpiece(word: string, vocab: ReadonlyMap<string, number>): string[] {
  const chars = Array.from(word);
  if (chars.length > 100) return ['[UNK]'];
  const out: string[] = [];
  for (let start = 0; start < chars.length; ) {
    let end = chars.length;
    let cur: string | undefined;
    while (start < end) {
      const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
      if (vocab.has(sub)) {
        cur = sub;
        break;
      }
      end--;
    }
    if (cur === undefined) return ['[UNK]'];
    out.push(cur);
    start = end;
  }
  return out;
}

function referenceTokenize(text: string, o: RefOptions): string[] {
  const alt = [...o.specials]
    .sort((a, b) => b.length - a.length)
    .map(escapeRe)
    .join('|');
  if (o.lower)
    text = text.replace(new RegExp(`(${alt})|([\\s\\S])`, 'gu'), (_, sp, ch) => sp ?? ch.toLowerCase());
  const out: string[] = [];
  for (const chunk of text.split(new RegExp(`(${alt})`))) {
    if (o.specials.includes(chunk)) out.push(chunk);
    // BertTokenizer._tokenize keeps the user's never_split whole; specials go through WordPiece (all in vocab).
    else
      for (const w of basic(chunk, o, true))
        out.push(...(o.never.includes(w) && !o.specials.includes(w) ? [w] : wordpiece(w, o.vocab)));
  }
  return out;
}

// Pieces that exercise every branch: case, accents (precomposed and combining), CJK (and a compatibility
// ideograph), controls, zero-width and lone surrogates, astral chars, specials inside words, NFC across "<" + U+0338.
const PIECES = [
  'a',
  'b',
  'un',
  'aff',
  'able',
  'Hello',
  'WORLD',
  'é',
  'e\u0301',
  'Ö',
  '中',
  '文',
  '\uf900',
  ',',
  '.',
  '!',
  '[',
  ']',
  '[MASK]',
  '[mask]',
  '[CLS]',
  ' ',
  '  ',
  '\t',
  '\n',
  '\u00a0',
  '\u2028',
  '\u200b',
  '\x00',
  '\ufffd',
  '\x07',
  '\ud800',
  '\udc00',
  '[MA',
  'SK]',
  '[FOO]',
  '[foo]',
  'keep.me',
  'KEEP.ME',
  '😀',
  '👍🏽',
  'İ',
  'ΣΑΣ',
  'ß',
  '<\u0338',
  '한',
  '\u1100\u1161',
  'x'.repeat(101),
  '##',
  '#',
  "n't",
];

const NEVER_SPLIT = ['[FOO]', 'keep.me'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('one-pass tokenizer = literal port of transformers, on random strings', () => {
  const vocab = [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    'a',
    'b',
    '##a',
    '##b',
    'un',
    '##aff',
    '##able',
    'hello',
    'world',
    'Hello',
    'e',
    'é',
    '##e',
    'o',
    'ö',
    '中',
    '文',
    '豈',
    ',',
    '.',
    '!',
    '[',
    ']',
    '#',
    '##',
    'mask',
    'x',
    '##x',
    '😀',
    'i',
    'σ',
    '##σ',
    '##α',
    'ς',
    'ß',
    '≮',
    '<',
    'n',
    "'",
    't',
    'ᄒ',
    '##ᅡ',
    '##ᆫ',
    '한',
    'ss',
    '##s',
  ];
  for (const [name, opts] of [
    ['uncased', { doLowerCase: true }],
    ['cased', { doLowerCase: false }],
    ['cased + strip accents', { doLowerCase: false, stripAccents: true }],
    ['uncased, keep accents', { doLowerCase: true, stripAccents: false }],
  ] as const) {
    it(name, () => {
      const tok = BertTokenizer.fromVocab(vocab, { ...opts, neverSplit: NEVER_SPLIT });
      const ref: RefOptions = {
        lower: tok.doLowerCase,
        strip: tok.stripAccents ?? tok.doLowerCase,
        specials: [...tok.allSpecialTokens],
        never: [...tok.allSpecialTokens, ...NEVER_SPLIT],
        vocab: new Map(vocab.map((t, i) => [t, i])),
      };
      const rand = rng(name.length);
      for (let n = 0; n < 1500; n++) {
        let text = '';
        const len = Math.floor(rand() * 12);
        for (let k = 0; k < len; k++) text += PIECES[Math.floor(rand() * PIECES.length)];
        expect(tok.tokenize(text), JSON.stringify(text)).toEqual(referenceTokenize(text, ref));
        expect(tok.basicTokenize(text), JSON.stringify(text)).toEqual(basic(text, ref, true));
      }
    });
  }
});
