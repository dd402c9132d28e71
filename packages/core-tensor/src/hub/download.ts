import { PretrainedError } from './errors.js';

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
}

/**
 * Streams `url` into `dest` through a temporary file in the same folder, renamed only once the whole
 * body has arrived (and matches Content-Length): a dropped connection leaves no file at `dest`.
 * Returns false on HTTP 404, so callers decide whether the file was optional.
 */
export async function downloadFile(
  url: string,
  dest: string,
  file: string,
  opts: DownloadOptions = {},
): Promise<boolean> {
  const { open, rename, rm, mkdir } = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  let res: Response;
  try {
    res = await fetch(url, { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {} });
  } catch (e) {
    throw new PretrainedError('NETWORK', url, `request failed (${causeOf(e)})`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return false;
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new PretrainedError('HTTP_ERROR', url, `HTTP ${res.status} ${res.statusText}`);
  }
  const header = res.headers.get('content-length');
  const totalBytes = header === null ? undefined : Number(header);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = join(
    dirname(dest),
    `.${basename(dest)}.${process.pid}.${Math.random().toString(36).slice(2)}.part`,
  );
  const fh = await open(tmp, 'wx');
  let loadedBytes = 0;
  try {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await fh.write(chunk);
        loadedBytes += chunk.byteLength;
        opts.onProgress?.({ file, loadedBytes, totalBytes, done: false });
      }
    } catch (e) {
      throw new PretrainedError('NETWORK', url, `connection lost after ${loadedBytes} bytes (${causeOf(e)})`);
    }
    if (totalBytes !== undefined && loadedBytes !== totalBytes)
      throw new PretrainedError('NETWORK', url, `got ${loadedBytes} of ${totalBytes} bytes`);
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  opts.onProgress?.({ file, loadedBytes, totalBytes: totalBytes ?? loadedBytes, done: true });
  return true;
}

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  return [err.message, err.cause?.code ?? err.cause?.message].filter(Boolean).join(': ');
}
