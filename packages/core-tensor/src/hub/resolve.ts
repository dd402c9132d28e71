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
}

/** Downloaded when the repository has them; a 404 is fine. */
export const OPTIONAL_FILES = [
  'vocab.txt',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'preprocessor_config.json',
];
export const WEIGHTS = 'model.safetensors';
export const WEIGHTS_INDEX = 'model.safetensors.index.json';
/** Written last: a folder without it is an interrupted download and is completed on the next call. */
const COMPLETE = '.attn-complete';

const env = (name: string) => (typeof process === 'undefined' ? undefined : process.env[name]);

export function hubUrl(id: string, file: string, opts: HubOptions = {}): string {
  const endpoint = (opts.endpoint ?? env('HF_ENDPOINT') ?? 'https://huggingface.co').replace(/\/+$/, '');
  return `${endpoint}/${id}/resolve/${encodeURIComponent(opts.revision ?? 'main')}/${file}`;
}

export function checkHubId(id: string): void {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(id) || id.split('/').some((part) => part === '.' || part === '..'))
    throw new PretrainedError('INVALID_ID', id, 'neither a local folder nor a hub id like "owner/name"');
}

/**
 * A local folder for `dirOrId`: the folder itself when it exists, otherwise the hub repository
 * downloaded (once) into the cache: config.json, the weights (one file or an index plus its shards),
 * and whichever optional tokenizer/preprocessor files exist. Node only.
 */
export async function resolvePretrainedDir(dirOrId: string, opts: HubOptions = {}): Promise<string> {
  const { stat, readFile, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { homedir } = await import('node:os');
  if ((await stat(dirOrId).catch(() => null))?.isDirectory()) return dirOrId;
  checkHubId(dirOrId);
  const revision = opts.revision ?? 'main';
  if (!/^[\w.-]+$/.test(revision) || revision === '..')
    throw new PretrainedError('INVALID_ID', revision, 'revision must be a branch, tag or commit name');
  const cacheDir = opts.cacheDir ?? env('ATTN_CACHE') ?? join(homedir(), '.cache', 'attn');
  const dir = join(cacheDir, ...dirOrId.split('/'), revision);
  if (await exists(join(dir, COMPLETE))) return dir;

  const fetchFile = async (file: string, required: boolean) => {
    if (await exists(join(dir, file))) return true; // kept from an interrupted earlier run
    const url = hubUrl(dirOrId, file, opts);
    const found = await downloadFile(url, join(dir, file), file, {
      token: opts.token ?? env('HF_TOKEN'),
      onProgress: opts.onProgress,
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
        hubUrl(dirOrId, '', opts),
        `neither ${WEIGHTS} nor ${WEIGHTS_INDEX} exists`,
      );
    for (const shard of await shardFiles(join(dir, WEIGHTS_INDEX), readFile)) await fetchFile(shard, true);
  }
  for (const file of OPTIONAL_FILES) await fetchFile(file, false);
  for (const file of opts.files ?? []) await fetchFile(file, true);
  await writeFile(join(dir, COMPLETE), `${new Date().toISOString()}\n`);
  return dir;
}

async function exists(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return (await stat(path).catch(() => null)) !== null;
}

async function shardFiles(
  indexPath: string,
  readFile: typeof import('node:fs/promises').readFile,
): Promise<string[]> {
  let map: unknown;
  try {
    map = JSON.parse(await readFile(indexPath, 'utf8')).weight_map;
  } catch (e) {
    throw new PretrainedError('BAD_CONFIG', indexPath, `not a JSON index (${(e as Error).message})`);
  }
  if (typeof map !== 'object' || map === null)
    throw new PretrainedError('BAD_CONFIG', indexPath, 'weight_map must be an object');
  const shards = [...new Set(Object.values(map))];
  for (const s of shards)
    if (typeof s !== 'string' || !/^[\w.-]+\.safetensors$/.test(s) || s.startsWith('.'))
      throw new PretrainedError(
        'BAD_CONFIG',
        indexPath,
        `shard ${JSON.stringify(s)} is not a .safetensors file name`,
      );
  return shards as string[];
}
