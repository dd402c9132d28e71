/** Base class of every error this package throws: bad input never surfaces as a bare Error or TypeError. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** A vocabulary that cannot be used: empty, duplicated entries, missing [UNK], ids with gaps. */
export class VocabError extends TokenizerError {
  override name = 'VocabError';
}

/** A tokenizer.json / tokenizer_config.json we cannot read or do not support. */
export class TokenizerConfigError extends TokenizerError {
  override name = 'TokenizerConfigError';
}
