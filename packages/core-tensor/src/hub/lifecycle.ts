import type * as tf from '@tensorflow/tfjs-core';
import type { ConfigOptions } from '../config/config.js';
import { atomicWriteFile } from '../io/atomic-write.js';
import { type Module, StateDictError, withDeferredInit } from '../module.js';
import type { WeightDType } from '../onnx/quantize.js';
import { node } from '../platform/node.js';
import { isQ8Weight, SCALE_SUFFIX } from '../safetensors/q8.js';
import { storedBytes, type WriteSafetensorsOptions, writeSafetensors } from '../safetensors/write.js';
import { loadPretrained } from './pretrained.js';
import { type HubOptions, weightFiles } from './resolve.js';

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
    `config.json asks for more layers (num_hidden_layers) than the checkpoint holds (${held.size}): ` +
    `layer(s) ${[...wanted].join(', ')} would be random; ${err.message}`;
  throw err;
}

export interface SaveOptions {
  /**
   * Above this many bytes of weights, write HF's sharded layout instead of one file:
   * `model-0000i-of-0000N.safetensors` and `model.safetensors.index.json` (as `save_pretrained(max_shard_size=…)`).
   * Default: one file at any size.
   */
  maxShardBytes?: number;
  /**
   * The precision to store (transformers.js' names), each in its own file beside the others (HF's `variant`
   * names, see weightFiles), so one folder can offer all three downloads:
   * - 'fp32' (default, exact): `model.safetensors`;
   * - 'fp16': `model.fp16.safetensors`, every float tensor as F16 (half the bytes);
   * - 'q8': `model.q8.safetensors`, every matrix weight (Linear, Conv2d, Embedding) as I8 with one float32
   *   scale per output channel in `….weight_scale` (about a quarter of the bytes); biases, LayerNorms and
   *   ViT's position embeddings and [CLS] stay float32.
   * `fromPretrained` reads any of them back as float32 (with `dtype`, that precision's file first).
   */
  dtype?: WeightDType;
}

/**
 * The one `save`: the weights (`<dir>/model.safetensors`, or shards and their index; tied weights once, as HF
 * saves them) then `<dir>/config.json`, each written atomically, weights first so a config.json never describes
 * weights that are not there. The other layout's weights file is removed afterwards, since a loader that finds
 * both would read the stale one.
 */
export async function savePretrainedModel(
  model: Module,
  dir: string,
  configJson: string,
  metadata?: Record<string, string>,
  opts: SaveOptions = {},
): Promise<void> {
  const { mkdir, rm } = node.fsp;
  const { join } = node.path;
  await mkdir(dir, { recursive: true });
  const state: Map<string, tf.Tensor> = model.stateDict();
  const dtype = opts.dtype ?? 'fp32';
  if (!['fp32', 'fp16', 'q8'].includes(dtype))
    throw new RangeError(`save: dtype ${JSON.stringify(dtype)} is not fp32, fp16 or q8`);
  const files = weightFiles(dtype);
  // Recorded in the file, so that a reader sees what it holds without knowing the file name's convention.
  const meta = { format: 'pt', ...(dtype !== 'fp32' && { dtype }), ...metadata };
  try {
    const write: WriteSafetensorsOptions =
      dtype === 'fp16' ? { floatDtype: 'F16' } : dtype === 'q8' ? { q8: true } : {};
    const tensorBytes = (name: string) => storedBytes(name, state.get(name)!, write);
    const shards = shardsOf(state, opts.maxShardBytes ?? Number.POSITIVE_INFINITY, tensorBytes);
    const stale = await shardFiles(join(dir, files.index));
    if (shards.length === 1) {
      await writeSafetensors(join(dir, files.single), state, meta, write);
      await rm(join(dir, files.index), { force: true });
      // As HF's save_pretrained: the previous save's shards would only mislead the next reader.
      for (const f of stale) await rm(join(dir, f), { force: true });
    } else {
      const n = shards.length;
      const weightMap: Record<string, string> = {};
      for (const [i, names] of shards.entries()) {
        await writeSafetensors(
          join(dir, files.shard(i, n)),
          new Map(names.map((k) => [k, state.get(k)!])),
          meta,
          write,
        );
        for (const k of names) {
          weightMap[k] = files.shard(i, n);
          const t = state.get(k)!;
          // A q8 weight's scale is a tensor of the shard too: readers look tensors up by this map.
          if (write.q8 && t.dtype === 'float32' && isQ8Weight(k, t.shape))
            weightMap[k + SCALE_SUFFIX] = files.shard(i, n);
        }
      }
      const totalSize = [...state.keys()].reduce((a, k) => a + tensorBytes(k), 0);
      const index = { metadata: { total_size: totalSize }, weight_map: sortKeys(weightMap) };
      await atomicWriteFile(join(dir, files.index), `${JSON.stringify(index, null, 2)}\n`);
      await rm(join(dir, files.single), { force: true });
      for (const f of stale)
        if (!Object.values(weightMap).includes(f)) await rm(join(dir, f), { force: true });
    }
  } finally {
    for (const t of state.values()) t.dispose();
  }
  await atomicWriteFile(join(dir, 'config.json'), configJson);
}

/** The shard files an existing index names (plain file names only: nothing outside the folder is touched). */
async function shardFiles(indexPath: string): Promise<string[]> {
  const { readFile } = node.fsp;
  try {
    const map = JSON.parse(await readFile(indexPath, 'utf8'))?.weight_map ?? {};
    return [...new Set(Object.values(map))].filter(
      (f): f is string => typeof f === 'string' && /^[^/\\]+\.safetensors$/.test(f) && !f.startsWith('.'),
    );
  } catch {
    return []; // no index (or not JSON): no shards of ours to clean up
  }
}

/** Names in sorted order, cut greedily into groups of at most `max` bytes (a bigger tensor gets a shard alone). */
function shardsOf(
  state: Map<string, tf.Tensor>,
  max: number,
  tensorBytes: (name: string) => number,
): string[][] {
  const shards: string[][] = [[]];
  let size = 0;
  for (const name of [...state.keys()].sort()) {
    const b = tensorBytes(name);
    if (size > 0 && size + b > max) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(name);
    size += b;
  }
  return shards;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}
