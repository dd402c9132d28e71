import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from './index.js';

// Gold from transformers 4.31's slow BertTokenizer.from_pretrained (see fixtures/golden/README.md).
interface Case {
  id: string;
  text?: string;
  text_pair?: string;
  texts?: string[];
  call?: { max_length?: number | null; truncation?: string | boolean; padding?: string | boolean };
  basic_tokens?: string[];
  tokens?: string[];
  tokens_pair?: string[];
  input_ids: number[] | number[][];
  token_type_ids?: number[] | number[][];
  attention_mask?: number[] | number[][];
  tokens_with_special?: string[];
  decoded?: string;
  decoded_no_cleanup?: string;
  decoded_with_special?: string;
  tokenizer_kwargs?: {
    do_lower_case: boolean;
    tokenize_chinese_chars: boolean;
    strip_accents: boolean | null;
  };
}

const VOCAB_DIR = {
  uncased: 'bert-base-uncased',
  cased: 'bert-base-cased',
  chinese: 'bert-base-chinese',
} as const;

function load(name: string): { meta: { tokenizer_kwargs: Record<string, unknown> }; cases: Case[] } {
  return JSON.parse(readFileSync(fixturePath('golden', `bert-tokenizer-${name}.json`), 'utf8'));
}

/** Text modulo what normalisation does: case, composition, dropped controls. */
function fold(s: string): string {
  return s
    .replace(/[\p{C}\uFFFD]/gu, '')
    .toLowerCase()
    .normalize('NFD');
}

function checkCase(tok: BertTokenizer, c: Case): void {
  if (c.texts) {
    const encs = tok.encodeBatch(c.texts, { padding: true });
    expect(encs.map((e) => e.inputIds)).toEqual(c.input_ids);
    expect(encs.map((e) => e.tokenTypeIds)).toEqual(c.token_type_ids);
    expect(encs.map((e) => e.attentionMask)).toEqual(c.attention_mask);
    return;
  }
  const text = c.text!;
  const pair = c.text_pair ?? null;
  if (c.call) {
    const { max_length, truncation, padding } = c.call;
    const enc = tok.encode(text, pair, {
      maxLength: max_length ?? undefined,
      truncation: truncation as never,
      padding: padding as never,
    });
    expect(enc.inputIds).toEqual(c.input_ids);
    if (c.token_type_ids) expect(enc.tokenTypeIds).toEqual(c.token_type_ids);
    if (c.attention_mask) expect(enc.attentionMask).toEqual(c.attention_mask);
    if (c.tokens_with_special) expect(enc.tokens).toEqual(c.tokens_with_special);
    return;
  }
  expect(tok.basicTokenize(text)).toEqual(c.basic_tokens);
  expect(tok.tokenize(text)).toEqual(c.tokens);
  if (pair !== null) expect(tok.tokenize(pair)).toEqual(c.tokens_pair);
  const enc = tok.encode(text, pair);
  expect(enc.inputIds).toEqual(c.input_ids);
  expect(enc.tokenTypeIds).toEqual(c.token_type_ids);
  expect(enc.attentionMask).toEqual(c.attention_mask);
  expect(enc.tokens).toEqual(c.tokens_with_special);
  expect(tok.convertIdsToTokens(enc.inputIds)).toEqual(c.tokens_with_special);
  expect(tok.decode(enc.inputIds, { skipSpecialTokens: true })).toBe(c.decoded);
  expect(tok.decode(enc.inputIds, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe(
    c.decoded_no_cleanup,
  );
  expect(tok.decode(enc.inputIds)).toBe(c.decoded_with_special);
  // Offsets: each token's span of the original text is the token (modulo case, accents, dropped controls).
  const typeOf = enc.tokenTypeIds;
  enc.offsets.forEach(([s, e], i) => {
    const token = enc.tokens[i];
    if (i === 0 || (s === 0 && e === 0 && token === tok.sepToken)) return;
    const source = typeOf[i] === 0 ? text : pair!;
    const span = source.slice(s, e);
    expect(e).toBeGreaterThan(s);
    if (token === tok.unkToken) return; // [UNK] stands for a whole word
    // A piece made of a decomposed char (Hangul jamo, a stripped accent) points at the whole source char.
    const piece = fold(token.replace(/^##/, ''));
    if ([...span].every((ch) => ch.charCodeAt(0) < 128)) expect(fold(span)).toBe(piece);
    else {
      const bare = (x: string) => x.replace(/\p{Mn}/gu, '');
      const ok = fold(span).includes(piece) || bare(fold(span)).includes(bare(piece));
      expect(ok, `${JSON.stringify(span)} ⊇ ${JSON.stringify(token)}`).toBe(true);
    }
  });
}

/**
 * tokenizer.json as the Rust `tokenizers` library writes it for a BERT checkpoint (BertNormalizer,
 * BertPreTokenizer, WordPiece with the vocab as a map, TemplateProcessing), built from the vocab and
 * tokenizer_config: the one file a folder without vocab.txt has.
 */
function hfTokenizerJson(vocabText: string, cfg: Record<string, unknown>): string {
  const tokens = vocabText.split('\n');
  if (tokens.at(-1) === '') tokens.pop();
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const special = (id: string, type_id: number) => ({ SpecialToken: { id, type_id } });
  const seq = (id: 'A' | 'B', type_id: number) => ({ Sequence: { id, type_id } });
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({
      id: vocab[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: cfg.tokenize_chinese_chars !== false,
      strip_accents: cfg.strip_accents ?? null,
      lowercase: cfg.do_lower_case !== false,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0), seq('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });
}

describe.skipIf(!haveFixtures('BertTokenizer golden tests'))(
  'BertTokenizer matches transformers 4.31',
  () => {
    for (const name of ['uncased', 'cased', 'chinese'] as const) {
      it(`every case of bert-tokenizer-${name}.json`, async () => {
        const tok = await BertTokenizer.fromPretrained(fixturePath('tokenizers', VOCAB_DIR[name]));
        const { cases } = load(name);
        expect(cases.length).toBeGreaterThan(60);
        for (const c of cases) {
          try {
            checkCase(tok, c);
          } catch (e) {
            (e as Error).message = `${c.id}: ${(e as Error).message}`;
            throw e;
          }
        }
      });
    }

    for (const name of ['uncased', 'cased', 'chinese'] as const) {
      it(`a folder with only tokenizer.json (no vocab.txt) tokenises every case of bert-tokenizer-${name}.json`, async () => {
        const src = fixturePath('tokenizers', VOCAB_DIR[name]);
        const cfgText = readFileSync(join(src, 'tokenizer_config.json'), 'utf8');
        const dir = mkdtempSync(join(tmpdir(), 'attn-tokjson-'));
        try {
          writeFileSync(
            join(dir, 'tokenizer.json'),
            hfTokenizerJson(readFileSync(join(src, 'vocab.txt'), 'utf8'), JSON.parse(cfgText)),
          );
          writeFileSync(join(dir, 'tokenizer_config.json'), cfgText);
          const tok = await BertTokenizer.fromPretrained(dir);
          const viaVocab = await BertTokenizer.fromPretrained(src);
          expect(tok.vocabSize).toBe(viaVocab.vocabSize);
          for (const c of load(name).cases) {
            try {
              checkCase(tok, c);
            } catch (e) {
              (e as Error).message = `${c.id}: ${(e as Error).message}`;
              throw e;
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    it('every case of bert-tokenizer-uncased-variants.json (do_lower_case / strip_accents / CJK options)', async () => {
      const { cases } = load('uncased-variants');
      const cfg = readFileSync(
        fixturePath('tokenizers', 'bert-base-uncased', 'tokenizer_config.json'),
        'utf8',
      );
      const vocab = readFileSync(fixturePath('tokenizers', 'bert-base-uncased', 'vocab.txt'), 'utf8');
      const byKwargs = new Map<string, BertTokenizer>();
      for (const c of cases) {
        const kw = JSON.stringify(c.tokenizer_kwargs);
        if (!byKwargs.has(kw)) {
          const tokenizerConfig = { ...JSON.parse(cfg), ...c.tokenizer_kwargs };
          byKwargs.set(kw, BertTokenizer.fromFiles({ vocab, tokenizerConfig }));
        }
        const tok = byKwargs.get(kw)!;
        try {
          checkCase(tok, c);
        } catch (e) {
          (e as Error).message = `${c.id}: ${(e as Error).message}`;
          throw e;
        }
      }
    });
  },
);
