import { atomicWriteFile } from '../io/atomic-write.js';
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
  if (await exists(join(dir, COMPLETE))) return dir;

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
  if (!(await fetchFile(WEIGHTS, false))) {
    if (!(await fetchFile(WEIGHTS_INDEX, false)))
      throw new PretrainedError(
        'NO_WEIGHTS',
        modelFileUrl(dirOrId, '', opts),
        `neither ${WEIGHTS} nor ${WEIGHTS_INDEX} exists`,
      );
    const shards = await shardFiles(join(dir, WEIGHTS_INDEX), readFile).catch(async (e) => {
      await rm(join(dir, WEIGHTS_INDEX), { force: true }); // else every later call would read it again
      throw e;
    });
    for (const shard of shards) await fetchFile(shard, true);
  }
  for (const file of OPTIONAL_FILES) await fetchFile(file, false);
  if (await fetchFile(ST_MODULES, false))
    for (const file of await moduleFiles(join(dir, ST_MODULES), readFile)) await fetchFile(file, false);
  for (const file of opts.files ?? []) await fetchFile(file, true);
  await checkDownloaded(dir, dirOrId, opts, readFile);
  await atomicWriteFile(join(dir, COMPLETE), `${new Date().toISOString()}\n`);
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
  const weights = (await exists(join(dir, WEIGHTS)))
    ? [WEIGHTS]
    : await shardFiles(join(dir, WEIGHTS_INDEX), readFile);
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
