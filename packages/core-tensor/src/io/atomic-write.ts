export type FileData = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes `data` to `path` so that readers only ever see the old file or the complete new one:
 * the bytes go to a temporary file in the same folder (same filesystem, so rename is atomic), are
 * flushed to disk, and the temporary file is then renamed over `path`. On failure the temporary file
 * is removed and the old file is untouched. Node only.
 */
export async function atomicWriteFile(path: string, data: FileData): Promise<void> {
  const { open, rename, rm } = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    for await (const chunk of chunks(data)) await writeAll(fh, chunk);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

async function* chunks(data: FileData): AsyncIterable<Uint8Array> {
  if (typeof data === 'string') yield new TextEncoder().encode(data);
  else if (data instanceof Uint8Array) yield data;
  else yield* data;
}

async function writeAll(fh: import('node:fs/promises').FileHandle, chunk: Uint8Array) {
  for (let done = 0; done < chunk.byteLength; ) {
    const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done);
    done += bytesWritten;
  }
}

/** Makes the rename itself durable. Some platforms (Windows) cannot open a directory: that is fine. */
async function syncDir(dir: string) {
  const { open } = await import('node:fs/promises');
  try {
    const d = await open(dir, 'r');
    await d.sync().finally(() => d.close());
  } catch {
    // best effort
  }
}
