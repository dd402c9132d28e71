/**
 * An input file as chunk jobs: runs of whole lines, each named by its byte range and carrying a hash of its
 * bytes, so a worker on any machine can read exactly its lines and tell whether the file changed since.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { type Line, readLines } from '../lines.js';

export interface FileIdentity {
  /** Absolute path: workers open the same path (a shared or identically mounted file system). */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface Chunk {
  /** Byte range [start, end) of whole lines. */
  start: number;
  end: number;
  /** 1-based number of the chunk's first line in the file (plain-text lines are identified by it). */
  firstLine: number;
  lines: number;
  /** sha256 of the chunk's bytes, hex. */
  sha256: string;
}

/** The input is not what was enqueued: a worker refuses to embed other lines under the old ids. */
export class InputChangedError extends Error {
  override readonly name = 'InputChangedError';
}

export async function fileIdentity(file: string): Promise<FileIdentity> {
  const path = await realpath(file);
  const s = await stat(path);
  return { path, size: s.size, mtimeMs: s.mtimeMs };
}

/** Splits `file` into chunks of `linesPerChunk` lines in one streaming pass (never the whole file in memory). */
export async function planChunks(
  file: string,
  linesPerChunk: number,
): Promise<{ file: FileIdentity; chunks: Chunk[] }> {
  const id = await fileIdentity(file);
  const chunks: Chunk[] = [];
  let start = 0;
  let lines = 0;
  let firstLine = 1;
  let hash = createHash('sha256');
  let pos = 0;
  const finish = (end: number) => {
    chunks.push({ start, end, firstLine, lines, sha256: hash.digest('hex') });
    firstLine += lines;
    start = end;
    lines = 0;
    hash = createHash('sha256');
  };
  for await (const buf of createReadStream(id.path) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, nl + 1)) {
      lines++;
      if (lines === linesPerChunk) {
        hash.update(buf.subarray(from, nl + 1));
        from = nl + 1;
        finish(pos + nl + 1);
      }
    }
    hash.update(buf.subarray(from));
    pos += buf.length;
  }
  if (pos > start) {
    // a last line without a newline still counts as a line
    const tail = await readRange(id.path, Math.max(start, pos - 1), pos);
    if (tail[tail.length - 1] !== 10) lines++;
    finish(pos);
  }
  if (pos !== id.size) throw new InputChangedError(`${id.path}: size changed while it was being split`);
  return { file: id, chunks };
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * The chunk's lines, numbered as in the whole file, after checking its bytes against the enqueued hash
 * (and the file's size, a cheaper first sign of change).
 */
export async function readChunk(file: FileIdentity, chunk: Chunk): Promise<AsyncIterable<Line>> {
  const where = `${file.path} bytes ${chunk.start}-${chunk.end}`;
  let size: number;
  try {
    size = (await stat(file.path)).size;
  } catch (e) {
    throw new InputChangedError(`${file.path}: cannot read the enqueued input (${(e as Error).message})`);
  }
  if (size !== file.size)
    throw new InputChangedError(`${file.path}: changed since it was enqueued (size ${file.size} → ${size})`);
  const bytes = await readRange(file.path, chunk.start, chunk.end);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== chunk.sha256)
    throw new InputChangedError(`${where}: changed since they were enqueued (content hash differs)`);
  const offset = chunk.firstLine - 1;
  return (async function* () {
    for await (const line of readLines(Readable.from([bytes])))
      yield { ...line, number: line.number + offset };
  })();
}
