export {
  BertTokenizer,
  cleanUpTokenization,
  type DecodeOptions,
  type EncodeOptions,
  type TokenizerFiles,
} from './bert-tokenizer.js';
export type { BertTokenizerOptions } from './config.js';
export { Encoding, type TruncationStrategy } from './encoding.js';
export { TokenizerConfigError, TokenizerError, VocabError } from './errors.js';
export { type TrainerProgress, WordPieceTrainer, type WordPieceTrainerOptions } from './trainer.js';
