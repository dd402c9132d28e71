import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ProtoWriter } from './protobuf.js';

/** What an `exportOnnx` returns: where it wrote, how much, and the graph's interface. */
export interface OnnxExportResult {
  path: string;
  bytes: number;
  task: string;
  inputs: string[];
  outputs: string[];
}

/**
 * Streams an encoded model to `path` atomically: chunks go to a temp file in the same folder, which is
 * fsynced and renamed over the target, so a crash never leaves a half-written model behind.
 * Returns the number of bytes written.
 */
export function writeOnnxFile(path: string, model: ProtoWriter): number {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    for (const c of model.chunks) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off, c.length - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return model.length;
}
