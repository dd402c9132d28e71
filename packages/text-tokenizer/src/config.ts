import { TokenizerConfigError } from './errors.js';

/** Options of a BERT tokenizer, as in tokenizer_config.json but camel-cased. Plain data. */
export interface BertTokenizerOptions {
  /** Lower-case the text (default true). */
  doLowerCase?: boolean;
  /** Strip accents; null/undefined follows doLowerCase, as in transformers. */
  stripAccents?: boolean | null;
  /** Put each CJK ideograph in a word of its own (default true). */
  tokenizeChineseChars?: boolean;
  /** Whitespace-delimited tokens kept whole (no lower-casing, no punctuation split, no WordPiece). */
  neverSplit?: string[];
  unkToken?: string;
  sepToken?: string;
  padToken?: string;
  clsToken?: string;
  maskToken?: string;
  additionalSpecialTokens?: string[];
  /** Default max length for truncation/padding when none is given (default: unlimited). */
  modelMaxLength?: number;
  /** Default of decode()'s cleanUpTokenizationSpaces (default true). */
  cleanUpTokenizationSpaces?: boolean;
  maxInputCharsPerWord?: number;
  continuingSubwordPrefix?: string;
}

type Json = Record<string, unknown>;

/** transformers writes special tokens either as strings or as AddedToken objects ({content: ...}). */
function tokenString(v: unknown, field: string, source: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  throw new TokenizerConfigError(`${source}: field "${field}" must be a string or {content: string}`);
}

function optBool(cfg: Json, field: string, source: string): boolean | undefined {
  const v = cfg[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new TokenizerConfigError(`${source}: field "${field}" must be a boolean`);
  return v;
}

/** Options from a parsed tokenizer_config.json (and special_tokens_map.json merged in). */
export function optionsFromConfig(cfg: unknown, source = 'tokenizer_config.json'): BertTokenizerOptions {
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new TokenizerConfigError(`${source}: expected a JSON object`);
  }
  const c = cfg as Json;
  const opts: BertTokenizerOptions = {};
  const set = <K extends keyof BertTokenizerOptions>(k: K, v: BertTokenizerOptions[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('doLowerCase', optBool(c, 'do_lower_case', source));
  if (c.strip_accents !== undefined) {
    opts.stripAccents = c.strip_accents === null ? null : optBool(c, 'strip_accents', source);
  }
  set('tokenizeChineseChars', optBool(c, 'tokenize_chinese_chars', source));
  set('cleanUpTokenizationSpaces', optBool(c, 'clean_up_tokenization_spaces', source));
  for (const [field, key] of [
    ['unk_token', 'unkToken'],
    ['sep_token', 'sepToken'],
    ['pad_token', 'padToken'],
    ['cls_token', 'clsToken'],
    ['mask_token', 'maskToken'],
  ] as const) {
    set(key, tokenString(c[field], field, source));
  }
  for (const [field, key] of [
    ['never_split', 'neverSplit'],
    ['additional_special_tokens', 'additionalSpecialTokens'],
  ] as const) {
    const v = c[field];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) throw new TokenizerConfigError(`${source}: field "${field}" must be a list`);
    opts[key] = v.map((t, i) => tokenString(t, `${field}[${i}]`, source)!);
  }
  const mml = c.model_max_length;
  if (mml !== undefined && mml !== null) {
    if (typeof mml !== 'number' || !(mml > 0)) {
      throw new TokenizerConfigError(`${source}: field "model_max_length" must be a positive number`);
    }
    // transformers writes "unlimited" as int(1e30).
    if (mml < 1e29) opts.modelMaxLength = mml;
  }
  return opts;
}

/** The tokenizer_config.json transformers would write for these options. */
export function configFromOptions(
  o: Required<Omit<BertTokenizerOptions, 'stripAccents'>> & BertTokenizerOptions,
): Json {
  const cfg: Json = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: o.doLowerCase,
    strip_accents: o.stripAccents ?? null,
    tokenize_chinese_chars: o.tokenizeChineseChars,
    never_split: o.neverSplit.length > 0 ? o.neverSplit : null,
    unk_token: o.unkToken,
    sep_token: o.sepToken,
    pad_token: o.padToken,
    cls_token: o.clsToken,
    mask_token: o.maskToken,
    clean_up_tokenization_spaces: o.cleanUpTokenizationSpaces,
  };
  if (o.additionalSpecialTokens.length > 0) cfg.additional_special_tokens = o.additionalSpecialTokens;
  if (Number.isFinite(o.modelMaxLength)) cfg.model_max_length = o.modelMaxLength;
  return cfg;
}
