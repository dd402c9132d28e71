import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, type tf } from '@attn/core-tensor';
import { type BertConfig, readBertConfig } from './config.js';

export interface LoadOptions {
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
  weightsPath: string;
  config: BertConfig;
  tensors: Map<string, tf.Tensor>;
}

/** Reads `<dir>/config.json` and `<dir>/model.safetensors`. */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const config = readBertConfig(dir);
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath))
    throw new Error(`${dir}: no model.safetensors (only safetensors checkpoints are read)`);
  return { dir, weightsPath, config, tensors: await loadSafetensors(weightsPath) };
}
