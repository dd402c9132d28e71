import type * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../pipeline/device.js';
import { node } from '../platform/node.js';
import { loadSafetensors, loadSafetensorsShards } from '../safetensors/read.js';
import { PretrainedError } from './errors.js';
import { type FetchModelOptions, fetchModelFile } from './fetch.js';
import {
  candidateNames,
  type HubOptions,
  isModelUrl,
  resolvePretrainedDir,
  shardNames,
  weightCandidates,
} from './resolve.js';

export interface Pretrained {
  /** Local folder (Node) or hub URL prefix (browser) the files came from. */
  dir: string;
  /** config.json as parsed JSON: plain data with Hugging Face field names. */
  config: Record<string, unknown>;
  /** HF state-dict name → tensor. The caller owns and disposes them. */
  tensors: Map<string, tf.Tensor>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/**
 * Reads config.json and the weights (model.safetensors, or model.safetensors.index.json and its shards)
 * from a local folder or a Hugging Face hub id. In Node a hub id is downloaded into the cache first
 * (see resolvePretrainedDir); in a browser the files are fetched straight from the endpoint.
 */
export async function loadPretrained(
  dirOrId: string,
  opts: HubOptions = {},
  /** Runs on config.json before any weight is read: a config that cannot be built stops here, cheaply. */
  beforeWeights?: (config: Record<string, unknown>, dir: string) => void,
): Promise<Pretrained> {
  // Loading is where tensors are first made: start the fastest backend if the caller started none.
  await ensureBackend();
  if (!isNode) {
    const dir = await resolvePretrainedDir(dirOrId, opts);
    const text = await readModelText(dir, 'config.json', opts);
    if (text === undefined)
      throw new PretrainedError(
        'NOT_FOUND',
        `${dir}/config.json`,
        'the model folder has no config.json (HTTP 404)',
      );
    const config = parseConfig(text, `${dir}/config.json`);
    beforeWeights?.(config, dir);
    const get = (file: string) => fetchModelFile(`${dir}/${file}`, file, fetchOptions(opts));
    const read = { dtype: opts.dtype };
    for (const w of weightCandidates(opts.dtype)) {
      const single = await get(w.single);
      if (single) return { dir, config, tensors: await loadSafetensors(single, read) };
      const index = await get(w.index);
      if (!index) continue;
      const names = shardNames(new TextDecoder().decode(index), `${dir}/${w.index}`);
      // Fetched one at a time, through one reader: a q8 weight and its scale may sit in different shards.
      async function* shards() {
        for (const shard of names) {
          const bytes = await get(shard);
          if (!bytes)
            throw new PretrainedError(
              'NOT_FOUND',
              `${dir}/${shard}`,
              `required file ${shard} is missing (HTTP 404)`,
            );
          yield bytes;
        }
      }
      return { dir, config, tensors: await loadSafetensorsShards(shards(), read) };
    }
    throw new PretrainedError('NO_WEIGHTS', dir, `none of ${candidateNames(opts.dtype)} exists (HTTP 404)`);
  }
  const { dir, config, weights } = await readPretrainedFolder(dirOrId, opts);
  beforeWeights?.(config, dir);
  return { dir, config, tensors: await loadSafetensors(weights, { dtype: opts.dtype }) };
}

/**
 * Node: a local folder or hub id (downloaded into the cache) → its folder, parsed config.json, and the path of
 * its weights (model.safetensors, else model.safetensors.index.json; with `opts.dtype` that precision's files
 * first, see weightCandidates), without reading the weights. Read them with `readSafetensors(weights, { dtype })`.
 */
export async function readPretrainedFolder(
  dirOrId: string,
  opts: HubOptions = {},
): Promise<{ dir: string; config: Record<string, unknown>; weights: string }> {
  const { readFile, stat } = node.fsp;
  const { join } = node.path;
  const dir = await resolvePretrainedDir(dirOrId, opts);
  const configPath = join(dir, 'config.json');
  const text = await readFile(configPath, 'utf8').catch(() => {
    throw new PretrainedError('NOT_FOUND', configPath, 'the model folder has no config.json');
  });
  const config = parseConfig(text, configPath);
  const isFile = async (f: string) => (await stat(join(dir, f)).catch(() => null))?.isFile() ?? false;
  for (const w of weightCandidates(opts.dtype))
    for (const file of [w.single, w.index])
      if (await isFile(file)) return { dir, config, weights: join(dir, file) };
  throw new PretrainedError('NO_WEIGHTS', dir, `none of ${candidateNames(opts.dtype)} is in the folder`);
}

function fetchOptions(opts: HubOptions): FetchModelOptions {
  const { token, onProgress, signal, stallTimeoutMs } = opts;
  return { token, onProgress, signal, stallTimeoutMs };
}

/**
 * The text of one file of a resolved model folder (resolvePretrainedDir's answer): read from disk, or fetched
 * (and kept in the Cache API) when the folder is a URL, as it always is in a page. Undefined when it is not there.
 */
export async function readModelText(
  dir: string,
  file: string,
  opts: HubOptions = {},
): Promise<string | undefined> {
  if (!isNode || isModelUrl(dir)) {
    const bytes = await fetchModelFile(`${dir}/${file}`, file, fetchOptions(opts));
    return bytes && new TextDecoder().decode(bytes);
  }
  const path = node.path.join(dir, file);
  return node.fsp.readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new PretrainedError('NOT_FOUND', path, `cannot be read (${e.code ?? e.message})`);
  });
}

function parseConfig(text: string, where: string): Record<string, unknown> {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new PretrainedError('BAD_CONFIG', where, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new PretrainedError('BAD_CONFIG', where, 'config must be a JSON object');
  return config as Record<string, unknown>;
}
