import { node } from '../platform/node.js';
import { SafetensorsError } from './errors.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const isUrl = (s: string) => /^https?:\/\//.test(s);

/**
 * Reads `model.safetensors.index.json` ({ weight_map: { tensorName: shardFile } }) and groups the
 * tensor names by shard, with shard locations resolved beside the index.
 */
export async function readIndex(indexPath: string): Promise<{ file: string; names: Set<string> }[]> {
  const fail = (msg: string): never => {
    throw new SafetensorsError('BAD_INDEX', indexPath, msg);
  };
  let index: unknown;
  try {
    index = JSON.parse(await readText(indexPath));
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    fail(`not a JSON index (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    return fail('weight_map must be an object');
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard) || shard.startsWith('.'))
      fail(
        `tensor "${name}" maps to ${JSON.stringify(shard)}, which is not a .safetensors file beside the index`,
      );
    if (!byShard.has(shard)) byShard.set(shard, new Set());
    byShard.get(shard)!.add(name);
  }
  return [...byShard].map(([shard, names]) => ({ file: sibling(indexPath, shard), names }));
}

function sibling(indexPath: string, file: string): string {
  if (isUrl(indexPath) || !isNode) return new URL(file, new URL(indexPath, globalThis.location?.href)).href;
  return indexPath.replace(/[^/\\]*$/, file);
}

async function readText(path: string): Promise<string> {
  if (isUrl(path) || !isNode) {
    const res = await fetch(path);
    if (!res.ok) throw new SafetensorsError('BAD_INPUT', path, `fetch failed with HTTP ${res.status}`);
    return res.text();
  }
  const { readFile } = node.fsp;
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new SafetensorsError('BAD_INPUT', path, `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}
