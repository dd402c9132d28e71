import { atomicWriteFile } from '../io/atomic-write.js';
import type { WeightDType } from '../onnx/quantize.js';
import { node } from '../platform/node.js';
import { SafetensorsError } from '../safetensors/errors.js';
import { readSafetensorsInfo } from '../safetensors/read.js';
import { type DownloadProgress, downloadFile } from './download.js';
import { PretrainedError } from './errors.js';

export interface HubOptions {
  /** Branch, tag or commit. Default "main". */
  revision?: string;
  /** Plain-folder cache: `{cacheDir}/{id}/{revision}/{file}`. Default $ATTN_CACHE or ~/.cache/attn. */
  cacheDir?: string;
  /** Default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Bearer token for gated or private models. Default $HF_TOKEN. */
  token?: string;
  /** Extra files to download; unlike the optional tokenizer/preprocessor files, a 404 on these is an error. */
  files?: string[];
  onProgress?: (p: DownloadProgress) => void;
  /** Fail a download when no byte arrives for this long. Default 60 000 ms. */
  stallTimeoutMs?: number;
  /** Cancels the downloads (the folder is left incomplete, and completed on the next call). */
  signal?: AbortSignal;
  /**
   * The weights' precision: 'fp16' reads `model.fp16.safetensors` and 'q8' `model.q8.safetensors` where the
   * folder has them (see weightFiles), else the fp32 weights rounded to that precision. Default 'fp32'.
   */
  dtype?: WeightDType;
}

/** Downloaded when the repository has them; a 404 is fine. */
export const OPTIONAL_FILES = [
  'vocab.txt',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'preprocessor_config.json',
];
/**
 * A sentence-transformers repository's module list; when it is there, the modules' own config files
 * (`1_Pooling/config.json`, …) and sentence_bert_config.json are fetched too, each optional.
 */
export const ST_MODULES = 'modules.json';
export const WEIGHTS = 'model.safetensors';
export const WEIGHTS_INDEX = 'model.safetensors.index.json';
/** Written last: a folder without it is an interrupted download and is completed on the next call. */
const COMPLETE = '.attn-complete';

/** The file names of one precision's weights: one file, or an index and its shards. */
export interface WeightFiles {
  dtype: WeightDType;
  single: string;
  index: string;
  shard: (i: number, n: number) => string;
}

/**
 * The weights files of one precision, named as HF's `save_pretrained(variant=…)` names them (the variant being
 * transformers.js' dtype name): fp32 `model.safetensors`, fp16 `model.fp16.safetensors`, q8 `model.q8.safetensors`;
 * sharded `model.safetensors.index.fp16.json` and `model.fp16-00001-of-00002.safetensors`. One folder can
 * hold all three, as a transformers.js folder holds `onnx/model.onnx`, `model_fp16.onnx`, `model_quantized.onnx`.
 */
export function weightFiles(dtype: WeightDType = 'fp32'): WeightFiles {
  const v = dtype === 'fp32' ? '' : `.${dtype}`;
  const n5 = (i: number) => String(i).padStart(5, '0');
  return {
    dtype,
    single: `model${v}.safetensors`,
    index: `model.safetensors.index${v}.json`,
    shard: (i, n) => `model${v}-${n5(i + 1)}-of-${n5(n)}.safetensors`,
  };
}

/**
 * Where a loader looks for weights when `dtype` is asked, in order: that precision's files, then fp32's (read
 * at `dtype`), then the other reduced ones, so a folder saved only as fp16 or q8 still loads.
 */
export function weightCandidates(dtype: WeightDType = 'fp32'): WeightFiles[] {
  const order: WeightDType[] = [dtype, 'fp32', 'fp16', 'q8'];
  return [...new Set(order)].map(weightFiles);
}

/** "model.safetensors, model.safetensors.index.json, model.fp16.safetensors, …": for NO_WEIGHTS messages. */
export const candidateNames = (dtype?: WeightDType) =>
  weightCandidates(dtype)
    .flatMap((w) => [w.single, w.index])
    .join(', ');

const env = (name: string) => (typeof process === 'undefined' ? undefined : process.env[name]);

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/**
 * A model folder given by URL: http(s) anywhere, and in a page also a path relative to it ('./models/vit',
 * '../m', '/models/vit'). A bare 'owner/name' is always a hub id, never a relative URL.
 */
export function isModelUrl(source: string): boolean {
  return /^https?:\/\//i.test(source) || (!isNode && /^\.{0,2}\//.test(source));
}

/** The absolute URL of a model folder given by URL, without a trailing slash (which changes nothing). */
export function modelFolderUrl(source: string): string {
  const page = typeof location === 'undefined' ? undefined : location.href;
  let url: URL;
  try {
    url = new URL(source, page);
  } catch {
    throw new PretrainedError('INVALID_ID', source, 'not a valid URL');
  }
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}

/** Where `file` of a model comes from: inside the folder URL, or the hub's resolve endpoint for an id. */
export function modelFileUrl(source: string, file: string, opts: HubOptions = {}): string {
  if (!isModelUrl(source)) return hubUrl(source, file, opts);
  return `${modelFolderUrl(source)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export function hubUrl(id: string, file: string, opts: HubOptions = {}): string {
  const endpoint = (opts.endpoint ?? env('HF_ENDPOINT') ?? 'https://huggingface.co').replace(/\/+$/, '');
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${id}/resolve/${encodeURIComponent(opts.revision ?? 'main')}/${path}`;
}

/**
 * A file name that becomes a path under the cache: "/"-separated segments as the hub names them,
 * none of which is empty, "." or "..", and no backslash, colon or control character (which some
 * platforms read as separators, drives or the end of the name).
 */
export function checkRepoFile(file: string): void {
  const bad =
    typeof file !== 'string'
      ? 'is not a string'
      : /[\\:]/.test(file) || [...file].some((c) => c.charCodeAt(0) < 0x20)
        ? 'contains a backslash, colon or control character'
        : file.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')
          ? 'must be a relative path without empty, "." or ".." parts'
          : undefined;
  if (bad) throw new PretrainedError('UNSAFE_PATH', JSON.stringify(file), `file name ${bad}`);
}

export function checkHubId(id: string): void {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(id) || id.split('/').some((part) => part === '.' || part === '..'))
    throw new PretrainedError('INVALID_ID', id, 'neither a local folder nor a hub id like "owner/name"');
}

/**
 * Where a model's files are read from. In Node: a local folder as it is; a hub id or an http(s) folder URL
 * downloaded (once) into the cache: config.json, the weights (one file or an index plus its shards), and
 * whichever optional tokenizer/preprocessor files exist. In a page: the folder's URL (a hub id's is the
 * hub's resolve endpoint), its files fetched as they are read (see fetchModelFile, which keeps them).
 */
export async function resolvePretrainedDir(dirOrId: string, opts: HubOptions = {}): Promise<string> {
  if (!isNode) {
    if (isModelUrl(dirOrId)) return modelFolderUrl(dirOrId);
    checkHubId(dirOrId);
    return hubUrl(dirOrId, '', opts).replace(/\/+$/, '');
  }
  const { stat, readFile, rm } = node.fsp;
  const { join } = node.path;
  const { homedir } = node.os;
  const byUrl = isModelUrl(dirOrId);
  if (!byUrl && (await stat(dirOrId).catch(() => null))?.isDirectory()) return dirOrId;
  if (!byUrl) checkHubId(dirOrId);
  const revision = opts.revision ?? 'main';
  if (!/^[\w.-]+$/.test(revision) || revision === '..' || revision === '.')
    throw new PretrainedError('INVALID_ID', revision, 'revision must be a branch, tag or commit name');
  const cacheDir = opts.cacheDir ?? env('ATTN_CACHE') ?? join(homedir(), '.cache', 'attn');
  const dir = byUrl
    ? join(cacheDir, 'urls', ...urlCachePath(dirOrId))
    : join(cacheDir, ...dirOrId.split('/'), revision);
  // Before the cache is looked at, so a bad name fails the same way whether or not the folder is complete.
  for (const file of opts.files ?? []) checkRepoFile(file);
  // One mark per precision: a folder completed for fp32 may still lack the fp16 file asked for next.
  const complete = opts.dtype && opts.dtype !== 'fp32' ? `${COMPLETE}.${opts.dtype}` : COMPLETE;
  if (await exists(join(dir, complete))) return dir;

  const fetchFile = async (file: string, required: boolean) => {
    // Downloads are renamed into place only once checked, so a file that is there is whole.
    if (await exists(join(dir, file))) return true;
    const url = modelFileUrl(dirOrId, file, opts);
    const found = await downloadFile(url, join(dir, file), file, {
      // $HF_TOKEN is the hub's: it is not sent to the host of a folder URL.
      token: opts.token ?? (byUrl ? undefined : env('HF_TOKEN')),
      onProgress: opts.onProgress,
      stallTimeoutMs: opts.stallTimeoutMs,
      signal: opts.signal,
    });
    if (!found && required)
      throw new PretrainedError('NOT_FOUND', url, `required file ${file} is missing (HTTP 404)`);
    return found;
  };
  await fetchFile('config.json', true);
  let weights: string[] | undefined;
  for (const w of weightCandidates(opts.dtype)) {
    if (await fetchFile(w.single, false)) weights = [w.single];
    else if (await fetchFile(w.index, false)) {
      const shards = await shardFiles(join(dir, w.index), readFile).catch(async (e) => {
        await rm(join(dir, w.index), { force: true }); // else every later call would read it again
        throw e;
      });
      for (const shard of shards) await fetchFile(shard, true);
      weights = shards;
    }
    if (weights) break;
  }
  if (!weights)
    throw new PretrainedError(
      'NO_WEIGHTS',
      modelFileUrl(dirOrId, '', opts),
      `none of ${candidateNames(opts.dtype)} exists`,
    );
  for (const file of OPTIONAL_FILES) await fetchFile(file, false);
  if (await fetchFile(ST_MODULES, false))
    for (const file of await moduleFiles(join(dir, ST_MODULES), readFile)) await fetchFile(file, false);
  for (const file of opts.files ?? []) await fetchFile(file, true);
  await checkDownloaded(dir, dirOrId, opts, readFile, weights);
  await atomicWriteFile(join(dir, complete), `${new Date().toISOString()}\n`);
  return dir;
}

/**
 * The files a sentence-transformers modules.json points at: sentence_bert_config.json and the config.json of
 * every module kept in a subfolder (the Transformer module's own files are the folder's). A modules.json that
 * does not parse is left for the feature-extraction pipeline to report, naming the file; a path that would
 * leave the cache is refused here, before anything is fetched for it.
 */
async function moduleFiles(
  path: string,
  readFile: typeof import('node:fs/promises').readFile,
): Promise<string[]> {
  let modules: unknown;
  try {
    modules = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
  const files = ['sentence_bert_config.json'];
  for (const m of Array.isArray(modules) ? modules : []) {
    const { type, path: sub } = (m ?? {}) as { type?: unknown; path?: unknown };
    if (typeof sub !== 'string' || sub === '' || (typeof type === 'string' && type.endsWith('Transformer')))
      continue;
    const file = `${sub.replace(/\/+$/, '')}/config.json`;
    checkRepoFile(file);
    files.push(file);
  }
  return files;
}

/**
 * A last look before the folder is marked complete, for a server that sends the wrong file with no
 * size or digest to catch it: config.json must parse and every weights file's header must describe
 * exactly its bytes. A bad file is deleted, so the next call downloads it again.
 */
async function checkDownloaded(
  dir: string,
  id: string,
  opts: HubOptions,
  readFile: typeof import('node:fs/promises').readFile,
  weights: string[],
) {
  const { join } = node.path;
  const { rm } = node.fsp;
  const reject = async (file: string, why: string): Promise<never> => {
    await rm(join(dir, file), { force: true });
    throw new PretrainedError(
      'CORRUPT',
      modelFileUrl(id, file, opts),
      `downloaded ${file} ${why}; it was removed`,
    );
  };
  try {
    JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  } catch (e) {
    await reject('config.json', `is not JSON (${(e as Error).message})`);
  }
  for (const file of weights)
    await readSafetensorsInfo(join(dir, file)).catch((e) =>
      e instanceof SafetensorsError
        ? reject(file, `is not a valid safetensors file (${e.message})`)
        : Promise.reject(e),
    );
}

/**
 * The cache folder of a folder URL: host (port joined with '_', as ':' is not a file-name character
 * everywhere) then its path segments, each checked like a hub file name so none can climb out.
 */
function urlCachePath(source: string): string[] {
  const url = new URL(modelFolderUrl(source));
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  const parts = [url.host.replace(':', '_'), ...segments];
  checkRepoFile(parts.join('/'));
  return parts;
}

async function exists(path: string): Promise<boolean> {
  const { stat } = node.fsp;
  return (await stat(path).catch(() => null)) !== null;
}

async function shardFiles(
  indexPath: string,
  readFile: typeof import('node:fs/promises').readFile,
): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(indexPath, 'utf8');
  } catch (e) {
    throw new PretrainedError('BAD_CONFIG', indexPath, `cannot be read (${(e as Error).message})`);
  }
  return shardNames(text, indexPath);
}

/** The shard files a model.safetensors.index.json names, each a plain .safetensors file name. */
export function shardNames(indexJson: string, where: string): string[] {
  let map: unknown;
  try {
    map = JSON.parse(indexJson).weight_map;
  } catch (e) {
    throw new PretrainedError('BAD_CONFIG', where, `not a JSON index (${(e as Error).message})`);
  }
  if (typeof map !== 'object' || map === null)
    throw new PretrainedError('BAD_CONFIG', where, 'weight_map must be an object');
  const shards = [...new Set(Object.values(map))];
  for (const s of shards)
    if (typeof s !== 'string' || !/^[\w.-]+\.safetensors$/.test(s) || s.startsWith('.'))
      throw new PretrainedError(
        'BAD_CONFIG',
        where,
        `shard ${JSON.stringify(s)} is not a .safetensors file name`,
      );
  return shards as string[];
}
