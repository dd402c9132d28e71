import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A config.json that cannot describe a BERT (wrong type, impossible sizes). The message names the field. */
export class BertConfigError extends Error {
  override readonly name = 'BertConfigError';
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

/** BertConfig's own defaults (bert-base-uncased sizes), as in transformers' `BertConfig.__init__`. */
const BERT_DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  use_cache: true,
  classifier_dropout: null,
} as const;

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
 * Throws BertConfigError naming the first field that makes no sense.
 */
export function bertConfig(fields: BertConfigInput = {}): BertConfig {
  const { num_labels, ...rest } = fields;
  const config = { ...PRETRAINED_DEFAULTS, ...BERT_DEFAULTS, ...rest, model_type: 'bert' } as BertConfig;
  if (!fields.id2label) {
    const n = num_labels ?? 2;
    config.id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
  }
  // JSON keys are strings; keep them so, whatever the caller passed.
  config.id2label = Object.fromEntries(
    Object.entries(config.id2label).map(([k, v]) => [String(k), String(v)]),
  );
  if (!fields.label2id)
    config.label2id = Object.fromEntries(Object.entries(config.id2label).map(([k, v]) => [v, Number(k)]));
  validate(config);
  return config;
}

/** HF's `num_labels`: the size of `id2label`. */
export function numLabels(config: BertConfig): number {
  return Object.keys(config.id2label).length;
}

function validate(c: BertConfig) {
  const positive = [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
  ] as const;
  for (const f of positive)
    if (!Number.isInteger(c[f]) || c[f] <= 0)
      throw new BertConfigError(
        `config field "${f}" must be a positive integer, got ${JSON.stringify(c[f])}`,
      );
  if (c.hidden_size % c.num_attention_heads !== 0)
    throw new BertConfigError(
      `config field "hidden_size" (${c.hidden_size}) must be a multiple of "num_attention_heads" (${c.num_attention_heads})`,
    );
  if (!['gelu', 'relu', 'gelu_new'].includes(c.hidden_act))
    throw new BertConfigError(
      `config field "hidden_act" must be gelu, relu or gelu_new, got ${JSON.stringify(c.hidden_act)}`,
    );
  if (c.position_embedding_type !== 'absolute')
    throw new BertConfigError(
      `config field "position_embedding_type" must be "absolute" (relative positions are not supported), got ${JSON.stringify(c.position_embedding_type)}`,
    );
  for (const f of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const)
    if (!(c[f] >= 0 && c[f] < 1))
      throw new BertConfigError(`config field "${f}" must be in [0, 1), got ${c[f]}`);
  if (!(c.layer_norm_eps > 0))
    throw new BertConfigError(`config field "layer_norm_eps" must be > 0, got ${c.layer_norm_eps}`);
  if (numLabels(c) < 1) throw new BertConfigError('config field "id2label" must name at least one label');
}

/** Reads `<dir>/config.json` (or a path to a .json file). Unknown fields are kept. */
export function readBertConfig(path: string): BertConfig {
  const file = path.endsWith('.json') ? path : join(path, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BertConfigError(`${file}: cannot read config (${(e as Error).message})`);
  }
  return parseBertConfig(raw, file);
}

/** A BertConfig from parsed config.json contents; `source` names the file in errors. */
export function parseBertConfig(raw: unknown, source = 'config.json'): BertConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BertConfigError(`${source}: expected a JSON object`);
  const fields = raw as BertConfigInput;
  if (fields.model_type !== undefined && fields.model_type !== 'bert')
    throw new BertConfigError(
      `${source}: config field "model_type" is ${JSON.stringify(fields.model_type)}, not "bert"`,
    );
  try {
    return bertConfig(fields);
  } catch (e) {
    if (e instanceof BertConfigError) e.message = `${source}: ${e.message}`;
    throw e;
  }
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
