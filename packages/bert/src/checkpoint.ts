import { type LoadingInfo, type PretrainedModelOptions, withConfigOverrides } from '@attn/core-tensor';
import { type BertConfig, type BertConfigInput, parseBertConfig } from './config.js';

export type { LoadingInfo };

export interface LoadOptions extends PretrainedModelOptions {
  /** Config fields to override, as HF's `from_pretrained(dir, num_labels=2, id2label=…)`. */
  config?: BertConfigInput;
}

/** config.json as read, with `opts.config` applied as HF's `from_pretrained(dir, **overrides)` does. */
export function withOverrides(config: Record<string, unknown>, dir: string, opts: LoadOptions): BertConfig {
  return parseBertConfig(withConfigOverrides(config, opts.config), `${dir}/config.json`, opts);
}
