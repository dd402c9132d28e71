import { node } from '../platform/node.js';
export type FileData = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes `data` to `path` so that readers only ever see the old file or the complete new one:
 * the bytes go to a temporary file in the same folder (same filesystem, so rename is atomic), are
 * flushed to disk, and the temporary file is then renamed over `path`. On failure the temporary file
 * is removed and the old file is untouched. Node only.
 */
export async function atomicWriteFile(path: string, data: FileData): Promise<void> {
  const { open, rename, rm } = node.fsp;
  const { dirname, basename, join } = node.path;
  const dir = dirname(path);
  await removeStaleTemps(dir);
  const tmp = join(dir, tempName(basename(path), 'tmp'));
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

/**
 * The hidden name of a temporary file or folder for `name`, carrying the writer's pid so that
 * removeStaleTemps can tell a killed writer's leftovers from a live writer's work in progress.
 */
export function tempName(name: string, kind: 'tmp' | 'part'): string {
  return `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.${kind}`;
}

const TEMP = /^\..+\.(\d+)\.[a-z0-9]+\.(tmp|part)$/;

/**
 * Removes the temporary files and folders (see tempName) in `dir` whose writer process is gone, the
 * leftovers of a kill. This process's own and other live processes' temporaries are kept: they may be
 * being written right now. Best effort: a folder that cannot be read is left as it is.
 */
export async function removeStaleTemps(dir: string): Promise<void> {
  const { readdir, rm } = node.fsp;
  const { join } = node.path;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names)
    if (isStaleTemp(name)) await rm(join(dir, name), { recursive: true, force: true }).catch(() => {});
}

/** Whether `name` is a temporary file or folder (see tempName) of a writer process that is gone. */
export function isStaleTemp(name: string): boolean {
  const pid = Number(TEMP.exec(name)?.[1] ?? Number.NaN);
  return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a rename in `dir` durable. Some platforms (Windows) cannot open a directory: that is fine. */
export async function syncDir(dir: string): Promise<void> {
  const { open } = node.fsp;
  try {
    const d = await open(dir, 'r');
    await d.sync().finally(() => d.close());
  } catch {
    // best effort
  }
}
