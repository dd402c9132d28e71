import {
  ConfigError,
  type ConfigOptions,
  type ConfigSchema,
  encoderLayerParameters,
  numLabels as labelCount,
  parseConfig,
} from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';

/** A config.json that cannot describe a BERT (wrong type, impossible sizes). The message names the file and field. */
export class BertConfigError extends ConfigError {
  override readonly name: string = 'BertConfigError';
}

/**
 * The fields of Hugging Face `BertConfig` (transformers 4.31), under HF's own names, so config.json
 * round-trips unchanged. Any other field found in a config.json is kept as is (index signature).
 */
export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu' | 'relu' | 'gelu_new';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: 'absolute';
  use_cache: boolean;
  classifier_dropout: number | null;
  /** Class names by index; its size is HF's `num_labels`. */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  /** null | 'regression' | 'single_label_classification' | 'multi_label_classification' */
  problem_type: string | null;
  architectures: string[] | null;
  model_type: 'bert';
  [field: string]: unknown;
}

/**
 * BertConfig's own fields: HF's defaults (bert-base-uncased sizes, as in transformers' `BertConfig.__init__`)
 * and the bounds past which a config is a mistake rather than a model. Everything else is core-tensor's.
 */
const BERT_SCHEMA: ConfigSchema<BertOwnFields> = {
  modelType: 'bert',
  error: BertConfigError,
  fields: {
    vocab_size: { type: 'int', default: 30522, min: 1, max: 1 << 24 },
    hidden_size: { type: 'int', default: 768, min: 1, max: 1 << 16 },
    num_hidden_layers: { type: 'int', default: 12, min: 1, max: 1024 },
    num_attention_heads: { type: 'int', default: 12, min: 1, max: 1024 },
    intermediate_size: { type: 'int', default: 3072, min: 1, max: 1 << 18 },
    hidden_act: { type: 'enum', default: 'gelu', values: ['gelu', 'relu', 'gelu_new'] },
    hidden_dropout_prob: { type: 'number', default: 0.1, min: 0, below: 1 },
    attention_probs_dropout_prob: { type: 'number', default: 0.1, min: 0, below: 1 },
    max_position_embeddings: { type: 'int', default: 512, min: 1, max: 1 << 20 },
    type_vocab_size: { type: 'int', default: 2, min: 1, max: 1 << 16 },
    initializer_range: { type: 'number', default: 0.02, min: 0, max: 1e3 },
    layer_norm_eps: { type: 'number', default: 1e-12, above: 0, max: 1 },
    pad_token_id: { type: 'int', default: 0, min: 0, max: 1 << 24, nullable: true },
    position_embedding_type: {
      type: 'enum',
      default: 'absolute',
      // relative_key / relative_key_query are not implemented: refusing them beats wrong numbers.
      values: ['absolute'],
    },
    use_cache: { type: 'boolean', default: true },
    classifier_dropout: { type: 'number', default: null, min: 0, below: 1, nullable: true },
  },
  check(c, fail) {
    if (c.hidden_size % c.num_attention_heads !== 0)
      fail(
        'hidden_size',
        `(${c.hidden_size}) must be a multiple of "num_attention_heads" (${c.num_attention_heads})`,
      );
  },
  parameters(c) {
    const H = c.hidden_size;
    const embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * H + 2 * H;
    const encoder = c.num_hidden_layers * encoderLayerParameters(H, c.intermediate_size);
    const pooler = H * H + H;
    // The biggest head: a classifier, or the MLM transform and its vocabulary bias (decoder tied).
    const heads = Math.max((H + 1) * labelCount(c), H * H + 3 * H + c.vocab_size);
    return embeddings + encoder + pooler + heads;
  },
  sizeFields: [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
  ],
};

type BertOwnFields = Pick<
  BertConfig,
  | 'vocab_size'
  | 'hidden_size'
  | 'num_hidden_layers'
  | 'num_attention_heads'
  | 'intermediate_size'
  | 'hidden_act'
  | 'hidden_dropout_prob'
  | 'attention_probs_dropout_prob'
  | 'max_position_embeddings'
  | 'type_vocab_size'
  | 'initializer_range'
  | 'layer_norm_eps'
  | 'pad_token_id'
  | 'position_embedding_type'
  | 'use_cache'
  | 'classifier_dropout'
>;

/**
 * The generic `PretrainedConfig` fields and their defaults, which `to_json_file(use_diff=False)` writes
 * for every model. We write them too, so a saved config.json has the same keys as one HF writes.
 */
const PRETRAINED_DEFAULTS: Record<string, unknown> = {
  _name_or_path: '',
  add_cross_attention: false,
  architectures: null,
  bad_words_ids: null,
  begin_suppress_tokens: null,
  bos_token_id: null,
  chunk_size_feed_forward: 0,
  cross_attention_hidden_size: null,
  decoder_start_token_id: null,
  diversity_penalty: 0.0,
  do_sample: false,
  early_stopping: false,
  encoder_no_repeat_ngram_size: 0,
  eos_token_id: null,
  exponential_decay_length_penalty: null,
  finetuning_task: null,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  is_decoder: false,
  is_encoder_decoder: false,
  length_penalty: 1.0,
  max_length: 20,
  min_length: 0,
  no_repeat_ngram_size: 0,
  num_beam_groups: 1,
  num_beams: 1,
  num_return_sequences: 1,
  output_attentions: false,
  output_hidden_states: false,
  output_scores: false,
  prefix: null,
  problem_type: null,
  pruned_heads: {},
  remove_invalid_values: false,
  repetition_penalty: 1.0,
  return_dict: true,
  return_dict_in_generate: false,
  sep_token_id: null,
  suppress_tokens: null,
  task_specific_params: null,
  temperature: 1.0,
  tf_legacy_loss: false,
  tie_encoder_decoder: false,
  tie_word_embeddings: true,
  tokenizer_class: null,
  top_k: 50,
  top_p: 1.0,
  torch_dtype: null,
  torchscript: false,
  typical_p: 1.0,
  use_bfloat16: false,
};

export type BertConfigInput = Partial<BertConfig> & { num_labels?: number; [field: string]: unknown };

/**
 * A complete BertConfig from some of its fields: HF defaults fill the rest, and `num_labels` (as HF
 * accepts it) becomes `id2label`/`label2id` with names LABEL_0, LABEL_1, ….
 * Throws BertConfigError naming the first field that makes no sense, and ModelTooLargeError (a
 * ConfigError) when the model would exceed `maxModelBytes`.
 */
export function bertConfig(fields: BertConfigInput = {}, opts: ConfigOptions = {}): BertConfig {
  return parseBertConfig(fields, 'config', opts);
}

/** HF's `num_labels`: the size of `id2label`. */
export function numLabels(config: BertConfig): number {
  return labelCount(config);
}

/** Reads `<dir>/config.json` (or a path to a .json file). Unknown fields are kept. */
export function readBertConfig(path: string, opts: ConfigOptions = {}): BertConfig {
  const file = path.endsWith('.json') ? path : node.path.join(path, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(node.fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BertConfigError(file, '(file)', `cannot be read (${(e as Error).message})`);
  }
  return parseBertConfig(raw, file, opts);
}

/** A BertConfig from parsed config.json contents; `source` names the file in errors. */
export function parseBertConfig(raw: unknown, source = 'config.json', opts: ConfigOptions = {}): BertConfig {
  const { fields, extra } = parseConfig(BERT_SCHEMA, raw, source, opts);
  // Generic PretrainedConfig fields first, so a saved config.json has every key HF writes.
  return { ...PRETRAINED_DEFAULTS, ...extra, ...fields, model_type: 'bert' } as BertConfig;
}

/** config.json text as HF writes it: keys sorted, two-space indent. */
export function bertConfigToJSON(config: BertConfig, architectures?: string[]): string {
  const out: Record<string, unknown> = { ...config };
  if (architectures) out.architectures = architectures;
  const sorted = Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
