import type { DownloadProgress } from './download.js';
import { PretrainedError } from './errors.js';
import { bodyLength, DEFAULT_STALL_TIMEOUT_MS, watchStall } from './watch.js';

/**
 * The page's side of model downloads (Node streams them into the cache folder, see downloadFile): files are
 * fetched into memory and kept in the Cache API under their URL, so a reload, or the next visit offline,
 * reads them from there. Where there is no Cache API (Node, an insecure origin) files are just fetched.
 */
export const MODEL_CACHE = 'attn-models';

export interface FetchModelOptions {
  token?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  stallTimeoutMs?: number;
}

async function openCache(): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined;
  // Opening fails on opaque origins and in some private modes: downloads then simply are not kept.
  return caches.open(MODEL_CACHE).catch(() => undefined);
}

/** The bytes at `url`, or undefined on HTTP 404; `file` names it in progress events. */
export async function fetchModelFile(
  url: string,
  file: string,
  opts: FetchModelOptions = {},
): Promise<Uint8Array | undefined> {
  const cache = await openCache();
  const hit = await cache?.match(url).catch(() => undefined);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    opts.onProgress?.({ file, loadedBytes: bytes.byteLength, totalBytes: bytes.byteLength, done: true });
    return bytes;
  }
  const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const watch = watchStall(url, stallMs, opts.signal);
  const failure = (when: string, e: unknown) =>
    watch.reason(when) ??
    new PretrainedError('NETWORK', url, `request failed ${when} (${(e as Error).message ?? e})`);
  try {
    watch.alive();
    const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
    const res = await fetch(url, { headers, signal: watch.signal }).catch((e) => {
      throw failure('before the response', e);
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new PretrainedError('HTTP_ERROR', url, `HTTP ${res.status} ${res.statusText}`.trim());
    }
    const totalBytes = bodyLength(res);
    const chunks: Uint8Array[] = [];
    let loadedBytes = 0;
    try {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        watch.alive();
        chunks.push(value);
        loadedBytes += value.byteLength;
        opts.onProgress?.({ file, loadedBytes, totalBytes, done: false });
      }
    } catch (e) {
      throw failure(`after ${loadedBytes} bytes`, e);
    }
    if (totalBytes !== undefined && loadedBytes !== totalBytes)
      throw new PretrainedError(
        'NETWORK',
        url,
        `got ${loadedBytes} bytes, but Content-Length says ${totalBytes}`,
      );
    const bytes = new Uint8Array(loadedBytes);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    // Only whole, checked bodies are kept; a full quota just means the next load downloads again.
    await cache
      ?.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }))
      .catch(() => {});
    opts.onProgress?.({ file, loadedBytes, totalBytes: loadedBytes, done: true });
    return bytes;
  } finally {
    watch.stop();
  }
}

/** fetch's shape over fetchModelFile, for code that takes a fetch (the tokenizer's fromPretrained). */
export function cachedFetch(opts: FetchModelOptions = {}): (url: string) => Promise<Response> {
  return async (url) => {
    const file =
      new URL(url, typeof location === 'undefined' ? undefined : location.href).pathname.split('/').pop() ??
      url;
    const bytes = await fetchModelFile(url, file, opts);
    return bytes
      ? new Response(bytes as Uint8Array<ArrayBuffer>)
      : new Response(null, { status: 404, statusText: 'Not Found' });
  };
}
