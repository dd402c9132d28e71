/**
 * The built-in models: small checkpoints trained by this project's own examples and committed under
 * `apps/classifier/models/`, so the CLI works with no download. `--model` accepts a built-in name,
 * any Hugging Face model folder, or a hub id (downloaded and cached by @attn/core-tensor's loadPretrained).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Task = 'image-classification' | 'text-classification' | 'text-encoder' | 'fill-mask';

export interface BuiltinModel {
  name: string;
  task: Task;
  /** Folder inside the app (config.json + model.safetensors + tokenizer / preprocessor files). */
  dir: string;
  description: string;
}

/** The app folder: this file is src/models.ts (tests) or dist/models.js (the built CLI). */
export const appRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export const BUILTIN_MODELS: readonly BuiltinModel[] = [
  {
    name: 'mnist-vit',
    task: 'image-classification',
    dir: resolve(appRoot, 'models/mnist-vit'),
    description: 'a small ViT trained from scratch on MNIST digits (labels 0-9)',
  },
  {
    name: 'spam-bert',
    task: 'text-classification',
    dir: resolve(appRoot, 'models/spam-bert'),
    description: 'a small BERT pre-trained and fine-tuned on SpamAssassin mail (labels ham / spam)',
  },
  {
    name: 'spam-bert-mlm',
    task: 'fill-mask',
    dir: resolve(appRoot, 'models/spam-bert-mlm'),
    description: 'the same BERT after pre-training (MLM + NSP heads), before fine-tuning: for fill-mask',
  },
];

/** Which built-in model a command uses when `--model` is not given. Text encoding reuses the text classifier's encoder. */
const DEFAULTS: Record<Task, string> = {
  'image-classification': 'mnist-vit',
  'text-classification': 'spam-bert',
  'text-encoder': 'spam-bert',
  'fill-mask': 'spam-bert-mlm',
};

export class ModelNotFoundError extends Error {
  override readonly name = 'ModelNotFoundError';
}

/**
 * Turns `--model` into what the packages' `fromPretrained` / `pipeline` accept: a folder path, or a hub id.
 * A built-in name (or no name) resolves to its folder; an existing path is used as is; anything that looks like
 * `owner/name` is passed on as a hub id; anything else is an error that names it.
 */
export function resolveModel(spec: string | undefined, task: Task): string {
  const name = spec ?? DEFAULTS[task];
  const builtin = BUILTIN_MODELS.find((m) => m.name === name);
  if (builtin) {
    if (!existsSync(resolve(builtin.dir, 'config.json'))) {
      throw new ModelNotFoundError(`built-in model "${name}" is missing its files in ${builtin.dir}`);
    }
    return builtin.dir;
  }
  if (existsSync(name)) return resolve(name);
  if (/^[\w.-]+\/[\w.-]+$/.test(name) && !name.startsWith('.')) return name;
  throw new ModelNotFoundError(
    `model "${name}" is neither a built-in model (${BUILTIN_MODELS.map((m) => m.name).join(', ')}), a folder, nor a hub id`,
  );
}
