import type * as tf from '@tensorflow/tfjs-core';
import type { ConfigOptions } from '../config/config.js';
import { atomicWriteFile } from '../io/atomic-write.js';
import { type Module, StateDictError, withDeferredInit } from '../module.js';
import { writeSafetensors } from '../safetensors/write.js';
import { loadPretrained } from './pretrained.js';
import type { HubOptions } from './resolve.js';

/** What `fromPretrained` found missing or extra, as HF's `output_loading_info=True` reports it. */
export interface LoadingInfo {
  /** Parameters of the model that the checkpoint does not have (initialised, e.g. a new classifier). */
  missing: string[];
  /** Checkpoint tensors the model has no place for (e.g. another head's weights). */
  unexpected: string[];
}

/** How a model family names its base model inside its heads' checkpoints (HF's `base_model_prefix`). */
export interface CheckpointLayout {
  /** `bert.`, `vit.`: where the base model sits in a head model's state-dict names. */
  prefix: string;
  /** The base model's top-level children, to recognise a checkpoint saved without the prefix. */
  baseChildren: readonly string[];
  /** Buffers and tied weights HF may save but never needs: dropped without being reported. */
  ignored?: readonly RegExp[];
}

/**
 * Checkpoint names → a model's names, as HF's `_load_pretrained_model` maps them: a base model
 * (`basePrefix` '') loading a head checkpoint strips the prefix; a head model (`basePrefix` = prefix)
 * loading a base checkpoint adds it. Tensors that fit neither keep their name (and end up unexpected).
 */
export function toModelNames<T>(
  tensors: Map<string, T>,
  layout: CheckpointLayout,
  basePrefix: string,
): Map<string, T> {
  const { prefix } = layout;
  const base = new RegExp(`^(${layout.baseChildren.join('|')})\\.`);
  const prefixed = [...tensors.keys()].some((k) => k.startsWith(prefix));
  const out = new Map<string, T>();
  for (const [name, t] of tensors) {
    if (layout.ignored?.some((re) => re.test(name))) continue;
    let n = name;
    if (basePrefix === '' && prefixed && n.startsWith(prefix)) n = n.slice(prefix.length);
    else if (basePrefix !== '' && !prefixed && base.test(n)) n = basePrefix + n;
    out.set(n, t);
  }
  return out;
}

export interface PretrainedModelOptions extends HubOptions, ConfigOptions {
  /** Called with what the checkpoint lacked and what it had extra. */
  onLoadingInfo?: (info: LoadingInfo) => void;
}

export interface PretrainedModelSpec<C, M extends Module> {
  /** config.json (parsed JSON) → the model's config; runs before any weight is read. */
  config: (json: Record<string, unknown>, source: string) => C;
  /** The model for that config; its weights are not initialised unless the checkpoint lacks them. */
  build: (config: C, checkpointNames: ReadonlySet<string>) => M;
  layout: CheckpointLayout;
  /** '' for the base model, `layout.prefix` for a model with a head (or a function of the built model). */
  basePrefix: string | ((model: M) => string);
}

/**
 * The one `fromPretrained` of every model family: config.json is parsed (and its size checked) before the
 * weights are read; the weights (model.safetensors or its shards, from a folder or the hub) are renamed by
 * the layout and loaded as HF does — missing heads are initialised and reported, other heads' weights are
 * reported as unexpected — but a shape that disagrees with config.json, or encoder layers that the checkpoint
 * does not hold, throw StateDictError naming the folder and the tensors. The model is returned in eval mode.
 */
export async function loadPretrainedModel<C, M extends Module>(
  dirOrId: string,
  opts: PretrainedModelOptions,
  spec: PretrainedModelSpec<C, M>,
): Promise<{ model: M; config: C; dir: string; loadingInfo: LoadingInfo }> {
  let config: C | undefined;
  const { dir, tensors } = await loadPretrained(dirOrId, opts, (json, d) => {
    config = spec.config(json, `${d}/config.json`);
  });
  let model: M | undefined;
  let loadingInfo: LoadingInfo;
  try {
    // Deferred: no random initialisation is computed for weights the checkpoint provides.
    model = withDeferredInit(() => spec.build(config as C, new Set(tensors.keys())));
    const basePrefix = typeof spec.basePrefix === 'function' ? spec.basePrefix(model) : spec.basePrefix;
    const named = toModelNames(tensors, spec.layout, basePrefix);
    loadingInfo = model.loadStateDict(named, { strict: false, release: true });
    checkLayers(loadingInfo, named);
  } catch (e) {
    model?.dispose();
    if (e instanceof StateDictError)
      e.message = `the weights in ${dir} do not fit its config.json: ${e.message}`;
    throw e;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  opts.onLoadingInfo?.(loadingInfo);
  return { model: model.eval(), config: config as C, dir, loadingInfo };
}

const LAYER = /(?:^|\.)layer\.(\d+)\./;

/**
 * HF would silently initialise encoder layers the checkpoint lacks; a random layer inside a trained encoder
 * is garbage, not a new head, so asking for more layers than were saved is an error.
 */
function checkLayers(info: LoadingInfo, named: Map<string, unknown>) {
  const missing = info.missing.filter((n) => LAYER.test(n));
  if (!missing.length) return;
  const held = new Set([...named.keys()].map((n) => LAYER.exec(n)?.[1]).filter((x) => x !== undefined));
  const wanted = new Set(missing.map((n) => LAYER.exec(n)?.[1]));
  const err = new StateDictError(missing, [], []);
  err.message =
    `num_hidden_layers asks for layer(s) ${[...wanted].join(', ')} but the checkpoint holds ${held.size} ` +
    `layer(s); ${err.message}`;
  throw err;
}

/**
 * The one `save`: `<dir>/model.safetensors` (tied weights once, as HF saves them) and `<dir>/config.json`,
 * each written atomically, weights first so a config.json never describes weights that are not there.
 */
export async function savePretrainedModel(
  model: Module,
  dir: string,
  configJson: string,
  metadata?: Record<string, string>,
): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const state: Map<string, tf.Tensor> = model.stateDict();
  try {
    await writeSafetensors(join(dir, 'model.safetensors'), state, { format: 'pt', ...metadata });
  } finally {
    for (const t of state.values()) t.dispose();
  }
  await atomicWriteFile(join(dir, 'config.json'), configJson);
}
