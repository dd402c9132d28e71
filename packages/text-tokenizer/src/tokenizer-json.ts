import type { BertTokenizerOptions } from './config.js';
import { TokenizerConfigError } from './errors.js';
import { type Vocab, vocabFromMap } from './vocab.js';

type Json = Record<string, unknown>;

function obj(v: unknown, what: string, source: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TokenizerConfigError(`${source}: ${what} must be an object`);
  }
  return v as Json;
}

function typeOf(v: Json): unknown {
  return v.type;
}

/**
 * Reads a Hugging Face tokenizer.json with the BERT pipeline (BertNormalizer, BertPreTokenizer, WordPiece,
 * TemplateProcessing or BertProcessing). Anything else is reported, not silently approximated.
 */
export function parseTokenizerJson(
  json: unknown,
  source = 'tokenizer.json',
): { vocab: Vocab; options: BertTokenizerOptions } {
  const root = obj(typeof json === 'string' ? parseJson(json, source) : json, 'the root', source);
  const model = obj(root.model, '"model"', source);
  if (model.type !== undefined && model.type !== 'WordPiece') {
    throw new TokenizerConfigError(
      `${source}: model.type ${JSON.stringify(model.type)} is not supported (WordPiece only)`,
    );
  }
  const vocab = vocabFromMap(
    obj(model.vocab, '"model.vocab"', source) as Record<string, number>,
    `${source} model.vocab`,
  );
  const options: BertTokenizerOptions = {};
  if (typeof model.unk_token === 'string') options.unkToken = model.unk_token;
  if (typeof model.continuing_subword_prefix === 'string')
    options.continuingSubwordPrefix = model.continuing_subword_prefix;
  if (typeof model.max_input_chars_per_word === 'number')
    options.maxInputCharsPerWord = model.max_input_chars_per_word;

  if (root.normalizer === null || root.normalizer === undefined) {
    options.doLowerCase = false;
    options.stripAccents = false;
    options.tokenizeChineseChars = false;
  } else {
    const norm = obj(root.normalizer, '"normalizer"', source);
    if (typeOf(norm) !== 'BertNormalizer') {
      throw new TokenizerConfigError(
        `${source}: normalizer ${JSON.stringify(norm.type)} is not supported (BertNormalizer only)`,
      );
    }
    if (norm.clean_text === false)
      throw new TokenizerConfigError(`${source}: normalizer.clean_text=false is not supported`);
    options.doLowerCase = norm.lowercase !== false;
    options.stripAccents = typeof norm.strip_accents === 'boolean' ? norm.strip_accents : null;
    options.tokenizeChineseChars = norm.handle_chinese_chars !== false;
  }
  if (root.pre_tokenizer !== null && root.pre_tokenizer !== undefined) {
    const pre = obj(root.pre_tokenizer, '"pre_tokenizer"', source);
    if (typeOf(pre) !== 'BertPreTokenizer') {
      throw new TokenizerConfigError(
        `${source}: pre_tokenizer ${JSON.stringify(pre.type)} is not supported (BertPreTokenizer only)`,
      );
    }
  }
  readPostProcessor(root.post_processor, options, source);

  const named = new Set([options.clsToken, options.sepToken, options.unkToken ?? '[UNK]']);
  const padding = root.padding as Json | null | undefined;
  if (padding && typeof padding.pad_token === 'string') options.padToken = padding.pad_token;
  const truncation = root.truncation as Json | null | undefined;
  if (truncation && typeof truncation.max_length === 'number') options.modelMaxLength = truncation.max_length;
  const decoder = root.decoder as Json | null | undefined;
  if (decoder && typeof decoder.cleanup === 'boolean') options.cleanUpTokenizationSpaces = decoder.cleanup;

  if (root.added_tokens !== undefined && root.added_tokens !== null) {
    if (!Array.isArray(root.added_tokens))
      throw new TokenizerConfigError(`${source}: "added_tokens" must be a list`);
    const extra: string[] = [];
    for (const [i, t] of root.added_tokens.entries()) {
      const content = obj(t, `added_tokens[${i}]`, source).content;
      if (typeof content !== 'string')
        throw new TokenizerConfigError(`${source}: added_tokens[${i}].content must be a string`);
      const id = (t as Json).id;
      if (typeof id === 'number' && vocab.tokens[id] !== content) {
        throw new TokenizerConfigError(
          `${source}: added token ${JSON.stringify(content)} has id ${id}, which the vocab gives to another token`,
        );
      }
      if (content === '[PAD]' && options.padToken === undefined) options.padToken = content;
      else if (content === '[MASK]') options.maskToken = content;
      else if (!named.has(content) && content !== options.padToken) extra.push(content);
    }
    if (extra.length > 0) options.additionalSpecialTokens = extra;
  }
  return { vocab, options };
}

function readPostProcessor(pp: unknown, options: BertTokenizerOptions, source: string): void {
  const p = obj(pp, '"post_processor"', source);
  if (p.type === 'BertProcessing') {
    const cls = p.cls as [string, number] | undefined;
    const sep = p.sep as [string, number] | undefined;
    if (!Array.isArray(cls) || !Array.isArray(sep))
      throw new TokenizerConfigError(`${source}: BertProcessing needs cls and sep`);
    options.clsToken = cls[0];
    options.sepToken = sep[0];
    return;
  }
  if (p.type !== 'TemplateProcessing') {
    throw new TokenizerConfigError(
      `${source}: post_processor ${JSON.stringify(p.type)} is not supported (TemplateProcessing or BertProcessing)`,
    );
  }
  // Only BERT's template is supported: [CLS] $A [SEP] (pair: [CLS] $A [SEP] $B:1 [SEP]:1).
  const single = p.single as Json[] | undefined;
  const ok =
    Array.isArray(single) &&
    single.length === 3 &&
    (single[0] as Json).SpecialToken !== undefined &&
    (single[1] as Json).Sequence !== undefined &&
    (single[2] as Json).SpecialToken !== undefined;
  if (!ok)
    throw new TokenizerConfigError(`${source}: post_processor template is not BERT's "[CLS] $A [SEP]"`);
  options.clsToken = ((single[0] as Json).SpecialToken as Json).id as string;
  options.sepToken = ((single[2] as Json).SpecialToken as Json).id as string;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerConfigError(`${source}: invalid JSON (${(e as Error).message})`);
  }
}

export interface TokenizerJsonInput {
  vocab: readonly string[];
  ids: ReadonlyMap<string, number>;
  doLowerCase: boolean;
  stripAccents: boolean | null;
  tokenizeChineseChars: boolean;
  specialTokens: readonly string[];
  clsToken: string;
  sepToken: string;
  unkToken: string;
  prefix: string;
  maxInputCharsPerWord: number;
  cleanUp: boolean;
}

/** The tokenizer.json that Hugging Face `tokenizers` writes for a BERT WordPiece tokenizer. */
export function buildTokenizerJson(t: TokenizerJsonInput): Json {
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const specialEntry = (token: string) => ({
    id: token,
    ids: [t.ids.get(token) ?? t.ids.get(t.unkToken)!],
    tokens: [token],
  });
  const vocab: Record<string, number> = Object.create(null); // a token may be "__proto__"
  t.vocab.forEach((token, id) => {
    vocab[token] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.specialTokens
      .filter((s) => t.ids.has(s))
      .map((s) => ({
        id: t.ids.get(s)!,
        content: s,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      }))
      .sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: t.tokenizeChineseChars,
      strip_accents: t.stripAccents,
      lowercase: t.doLowerCase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(t.clsToken, 0), seq('A', 0), special(t.sepToken, 0)],
      pair: [
        special(t.clsToken, 0),
        seq('A', 0),
        special(t.sepToken, 0),
        seq('B', 1),
        special(t.sepToken, 1),
      ],
      special_tokens: { [t.clsToken]: specialEntry(t.clsToken), [t.sepToken]: specialEntry(t.sepToken) },
    },
    decoder: { type: 'WordPiece', prefix: t.prefix, cleanup: t.cleanUp },
    model: {
      type: 'WordPiece',
      unk_token: t.unkToken,
      continuing_subword_prefix: t.prefix,
      max_input_chars_per_word: t.maxInputCharsPerWord,
      vocab,
    },
  };
}
