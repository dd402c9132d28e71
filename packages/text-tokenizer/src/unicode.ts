/**
 * Character classes of Hugging Face's BasicTokenizer (transformers 4.31, tokenization_bert.py), computed from
 * the JS engine's own Unicode tables and memoised per code point, so the hot loop is one table read per char.
 */

export const WORD = 0;
/** " ", \t \n \r and category Zs (turned into spaces by _clean_text), and U+2028/2029 (str.split() splits them). */
export const SPACE = 1;
/** Printable non-alphanumeric ASCII and every category P* character (_is_punctuation). */
export const PUNCT = 2;
/** NUL, U+FFFD and every category C character except \t \n \r: _clean_text drops them. */
export const REMOVE = 3;
/** The CJK ideograph blocks of _is_chinese_char: each becomes a word of its own. */
export const CJK = 4;
/** Bit set on combining marks and Hangul V/T jamo: they stay in the segment of the char before them. */
export const EXTEND = 8;

const reZs = /\p{Zs}/u;
const reC = /\p{C}/u;
const reP = /\p{P}/u;
const reM = /\p{M}/u;
const reMn = /\p{Mn}/gu;

function isAsciiPunct(cp: number): boolean {
  return (
    (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)
  );
}

/** Exactly the ranges of BasicTokenizer._is_chinese_char (which leave out e.g. Hangul and Kana on purpose). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function computeClass(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let cls: number;
  if (cp === 0 || cp === 0xfffd) cls = REMOVE;
  else if (cp === 9 || cp === 10 || cp === 13 || cp === 0x2028 || cp === 0x2029 || reZs.test(ch)) cls = SPACE;
  else if (reC.test(ch))
    cls = REMOVE; // also lone surrogates (Cs), private use (Co), unassigned (Cn)
  else if (isChineseChar(cp)) cls = CJK;
  else if (isAsciiPunct(cp) || reP.test(ch)) cls = PUNCT;
  else cls = WORD;
  const jamoVT = (cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff);
  if (reM.test(ch) || jamoVT) cls |= EXTEND;
  return cls;
}

/** Class of each ASCII code unit, precomputed. */
export const ASCII_CLASS: Uint8Array = new Uint8Array(128).map((_, c) => computeClass(c));

// Memo for the other code points: 0 means "not computed yet", otherwise class + 1.
let memo: Uint8Array | undefined;

export function charClass(cp: number): number {
  if (cp < 128) return ASCII_CLASS[cp];
  memo ??= new Uint8Array(0x110000);
  const m = memo[cp];
  if (m !== 0) return m - 1;
  const cls = computeClass(cp);
  memo[cp] = cls + 1;
  return cls;
}

/** Accent stripping as BasicTokenizer._run_strip_accents: NFD, then drop category Mn. */
export function stripAccents(s: string): string {
  return s.normalize('NFD').replace(reMn, '');
}

/** Python's str.isspace() (used by str.strip()/split()), which differs from JS's \s. */
export function isPythonSpace(cp: number): boolean {
  return (
    (cp >= 9 && cp <= 13) ||
    (cp >= 0x1c && cp <= 0x20) ||
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** Python's str.strip() with no argument. */
export function pythonStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPythonSpace(s.charCodeAt(a))) a++;
  while (b > a && isPythonSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Lower-cases code point by code point, as transformers' tokenize() does before BasicTokenizer (no final sigma). */
export function lowerPerChar(s: string): string {
  let out = '';
  for (const ch of s) out += ch.toLowerCase();
  return out;
}

/** FNV-1a over UTF-16 units, the hash of the ASCII word cache: h = imul(h ^ unit, FNV_PRIME) from FNV_OFFSET. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;
