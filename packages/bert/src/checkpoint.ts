import { type HubOptions, loadPretrained, type tf } from '@attn/core-tensor';
import { type BertConfig, type BertConfigInput, parseBertConfig } from './config.js';

export interface LoadOptions extends HubOptions {
  /** Config fields to override, as HF's `from_pretrained(dir, num_labels=2, id2label=…)`. */
  config?: BertConfigInput;
  /** Called with what the checkpoint lacked (left at their initial values) and what it had extra. */
  onLoadingInfo?: (info: LoadingInfo) => void;
}

export interface LoadingInfo {
  /** Parameters of the model that the checkpoint does not have (randomly initialised, e.g. a new classifier). */
  missing: string[];
  /** Checkpoint tensors the model has no place for (e.g. another head's weights). */
  unexpected: string[];
}

/** A model folder read into memory: its config and its tensors (the caller disposes them). */
export interface Checkpoint {
  dir: string;
  config: BertConfig;
  tensors: Map<string, tf.Tensor>;
}

/** Reads config.json and the safetensors weights of a local folder or a Hugging Face hub id (downloaded and cached). */
export async function readCheckpoint(dirOrId: string, opts: LoadOptions = {}): Promise<Checkpoint> {
  const { dir, config, tensors } = await loadPretrained(dirOrId, opts);
  try {
    return { dir, config: withOverrides(config, dir, opts), tensors };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}

/** config.json as read, with `opts.config` applied as HF's `from_pretrained(dir, **overrides)` does. */
export function withOverrides(config: Record<string, unknown>, dir: string, opts: LoadOptions): BertConfig {
  const overrides = { ...opts.config };
  // A new label set replaces the old one whole (label2id follows id2label unless given).
  if (overrides.id2label || overrides.num_labels !== undefined) delete config.label2id;
  if (overrides.num_labels !== undefined && !overrides.id2label) delete config.id2label;
  return parseBertConfig({ ...config, ...overrides }, `${dir}/config.json`);
}
