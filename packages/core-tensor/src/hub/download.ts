import { removeStaleTemps, tempName } from '../io/atomic-write.js';
import { node } from '../platform/node.js';
import { PretrainedError } from './errors.js';
import { bodyLength, DEFAULT_STALL_TIMEOUT_MS, watchStall } from './watch.js';

export interface DownloadProgress {
  /** File name inside the model folder, e.g. "model.safetensors". */
  file: string;
  loadedBytes: number;
  /** From Content-Length, when the server sends it. */
  totalBytes?: number;
  done: boolean;
}

export interface DownloadOptions {
  token?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Give up when no byte arrives for this long (default 60 000 ms), waiting for headers included. */
  stallTimeoutMs?: number;
  /** Cancels the download; the partial file is removed. */
  signal?: AbortSignal;
}

export { DEFAULT_STALL_TIMEOUT_MS };

const MAX_REDIRECTS = 10;

/** What the hub says a file must be, from its `X-Linked-Size` / `X-Linked-Etag` (LFS files) and Content-Length. */
interface Expected {
  size?: number;
  sizeFrom?: string;
  sha256?: string;
}

/**
 * Streams `url` into `dest` through a temporary file in the same folder, renamed only once the whole
 * body has arrived and checked: its size against Content-Length and the hub's X-Linked-Size, its
 * sha256 against the hub's X-Linked-Etag when that is one. A dropped, stalled, aborted or wrong
 * download leaves no file at `dest`. Returns false on HTTP 404, so callers decide whether the file
 * was optional.
 */
export async function downloadFile(
  url: string,
  dest: string,
  file: string,
  opts: DownloadOptions = {},
): Promise<boolean> {
  const { open, rename, rm, mkdir } = node.fsp;
  const { createHash } = node.crypto;
  const { dirname, basename, join } = node.path;
  const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  if (!(stallMs > 0))
    throw new PretrainedError('BAD_OPTION', url, `stallTimeoutMs must be a positive number, got ${stallMs}`);
  if (opts.signal?.aborted) throw new PretrainedError('ABORTED', url, 'aborted before it started');

  const watch = watchStall(url, stallMs, opts.signal);
  // Says why a read failed: our stall timer, the caller's signal, or the network.
  const failure = (loaded: number | undefined, e: unknown) => {
    const when = loaded === undefined ? 'before the response' : `after ${loaded} bytes`;
    return (
      watch.reason(when) ??
      new PretrainedError(
        'NETWORK',
        url,
        `${loaded === undefined ? 'request failed' : `connection lost ${when}`} (${causeOf(e)})`,
      )
    );
  };

  let fh: import('node:fs/promises').FileHandle | undefined;
  let tmp: string | undefined;
  /** The first folder this call made for `dest` (e.g. `1_Pooling`): removed again if the file never lands. */
  let created: string | undefined;
  try {
    watch.alive();
    const { res, expected } = await fetchFollowing(url, opts.token, watch.signal).catch((e) => {
      throw e instanceof PretrainedError ? e : failure(undefined, e);
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return false;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new PretrainedError('HTTP_ERROR', url, `HTTP ${res.status} ${res.statusText}`);
    }
    const length = bodyLength(res);
    if (length !== undefined && expected.size !== undefined && length !== expected.size)
      throw new PretrainedError(
        'CORRUPT',
        url,
        `Content-Length ${length} differs from ${expected.sizeFrom} ${expected.size}`,
      );
    if (expected.size === undefined && length !== undefined && Number.isSafeInteger(length)) {
      expected.size = length;
      expected.sizeFrom = 'Content-Length';
    }
    const totalBytes = expected.size;
    created = await mkdir(dirname(dest), { recursive: true });
    await removeStaleTemps(dirname(dest));
    tmp = join(dirname(dest), tempName(basename(dest), 'part'));
    fh = await open(tmp, 'wx');
    const hash = createHash('sha256');
    let loadedBytes = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        watch.alive();
        await fh.write(chunk);
        hash.update(chunk);
        loadedBytes += chunk.byteLength;
        if (totalBytes !== undefined && loadedBytes > totalBytes) break;
        opts.onProgress?.({ file, loadedBytes, totalBytes, done: false });
      }
    } catch (e) {
      throw failure(loadedBytes, e);
    }
    if (totalBytes !== undefined && loadedBytes !== totalBytes)
      throw new PretrainedError(
        loadedBytes < totalBytes ? 'NETWORK' : 'CORRUPT',
        url,
        `got ${loadedBytes}${loadedBytes > totalBytes ? '+' : ''} bytes, but ${expected.sizeFrom} says ${totalBytes}`,
      );
    const sha256 = hash.digest('hex');
    if (expected.sha256 && sha256 !== expected.sha256)
      throw new PretrainedError(
        'CORRUPT',
        url,
        `sha256 ${sha256} differs from the hub's X-Linked-Etag ${expected.sha256}`,
      );
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, dest);
    tmp = undefined;
    created = undefined;
    opts.onProgress?.({ file, loadedBytes, totalBytes: loadedBytes, done: true });
    return true;
  } finally {
    watch.stop();
    await fh?.close().catch(() => {});
    if (tmp) await rm(tmp, { force: true });
    if (created) await removeEmptyFolders(dirname(dest), created);
  }
}

/** Removes `from` and its parents up to `upTo`, each only while empty (rmdir refuses a folder with files). */
async function removeEmptyFolders(from: string, upTo: string): Promise<void> {
  const { rmdir } = node.fsp;
  const { dirname, relative } = node.path;
  for (let d = from; !relative(upTo, d).startsWith('..'); d = dirname(d)) {
    if (
      !(await rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (d === upTo) return;
  }
}

/**
 * Follows redirects by hand: the hub puts X-Linked-Size and X-Linked-Etag on its 302 to the storage
 * host, which an automatic redirect would hide. The token is only sent to the hub's own origin.
 */
async function fetchFollowing(
  url: string,
  token: string | undefined,
  signal: AbortSignal,
): Promise<{ res: Response; expected: Expected }> {
  const expected: Expected = {};
  const origin = new URL(url).origin;
  let at = url;
  for (let hop = 0; ; hop++) {
    const auth = token && new URL(at).origin === origin ? { authorization: `Bearer ${token}` } : undefined;
    const res = await fetch(at, { headers: auth ?? {}, redirect: 'manual', signal });
    readLinked(res.headers, expected, url);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { res, expected };
    await res.body?.cancel();
    if (hop === MAX_REDIRECTS)
      throw new PretrainedError('HTTP_ERROR', url, `more than ${MAX_REDIRECTS} redirects`);
    at = new URL(location, at).href;
  }
}

function readLinked(headers: Headers, expected: Expected, url: string) {
  const size = headers.get('x-linked-size');
  if (size !== null && expected.size === undefined) {
    if (!/^\d+$/.test(size.trim()))
      throw new PretrainedError(
        'HTTP_ERROR',
        url,
        `X-Linked-Size ${JSON.stringify(size)} is not a byte count`,
      );
    expected.size = Number(size);
    expected.sizeFrom = 'X-Linked-Size';
  }
  // An LFS file's etag is its sha256, quoted and sometimes marked weak; anything else is not a digest.
  const etag = /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(headers.get('x-linked-etag')?.trim() ?? '')?.[1];
  if (etag && expected.sha256 === undefined) expected.sha256 = etag.toLowerCase();
}

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  return [err.message, err.cause?.code ?? err.cause?.message].filter(Boolean).join(': ');
}
