import { VocabError } from './errors.js';

/** A vocabulary: token ↔ id, ids dense from 0. */
export interface Vocab {
  tokens: readonly string[];
  ids: ReadonlyMap<string, number>;
}

/**
 * Splits vocab.txt into tokens, one per line, as transformers' load_vocab (Python text mode: \n, \r\n and \r all
 * end a line; a final newline does not add an empty token).
 */
export function parseVocabText(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Validates tokens (non-empty, no duplicates) and indexes them. `source` names the file in error messages. */
export function buildVocab(tokens: readonly string[], source: string): Vocab {
  if (tokens.length === 0) throw new VocabError(`${source}: the vocabulary is empty`);
  const ids = new Map<string, number>();
  const dups: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (typeof t !== 'string') throw new VocabError(`${source}: entry ${i} is not a string`);
    const prev = ids.get(t);
    if (prev !== undefined) {
      if (dups.length < 5) dups.push(`${JSON.stringify(t)} (lines ${prev + 1} and ${i + 1})`);
      continue;
    }
    ids.set(t, i);
  }
  if (dups.length > 0) {
    const extra = tokens.length - ids.size - dups.length;
    throw new VocabError(
      `${source}: duplicate tokens ${dups.join(', ')}${extra > 0 ? ` and ${extra} more` : ''}; ids would be ambiguous`,
    );
  }
  return { tokens, ids };
}

/** From a token → id map: the ids must be exactly 0..n-1. */
export function vocabFromMap(
  map: ReadonlyMap<string, number> | Record<string, number>,
  source: string,
): Vocab {
  const entries = map instanceof Map ? [...map] : Object.entries(map);
  const tokens: string[] = new Array(entries.length);
  for (const [token, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= entries.length) {
      throw new VocabError(
        `${source}: id ${id} of ${JSON.stringify(token)} is outside 0..${entries.length - 1}`,
      );
    }
    if (tokens[id] !== undefined) {
      throw new VocabError(
        `${source}: id ${id} is used by both ${JSON.stringify(tokens[id])} and ${JSON.stringify(token)}`,
      );
    }
    tokens[id] = token;
  }
  return buildVocab(tokens, source);
}
