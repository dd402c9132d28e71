import { isStaleTemp, tempName } from '../io/atomic-write.js';
import { node } from '../platform/node.js';
import type { ProtoWriter } from './protobuf.js';

/** The .onnx file cannot be written where it was asked to go. */
export class OnnxWriteError extends Error {
  override readonly name = 'OnnxWriteError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

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
  // "out/" would put the temporary file next to the folder, named after it, and then fail to rename it.
  if (/[\\/]$/.test(path) || node.fs.statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new OnnxWriteError(
      path,
      `is a folder; name the file to write, e.g. ${node.path.join(path, 'model.onnx')}`,
    );
  for (const name of node.fs.readdirSync(node.path.dirname(path)))
    if (isStaleTemp(name))
      node.fs.rmSync(node.path.join(node.path.dirname(path), name), { recursive: true, force: true });
  const tmp = node.path.join(node.path.dirname(path), tempName(node.path.basename(path), 'tmp'));
  const fd = node.fs.openSync(tmp, 'wx');
  let open = true;
  try {
    for (const c of model.chunks) {
      let off = 0;
      while (off < c.length) off += node.fs.writeSync(fd, c, off, c.length - off);
    }
    node.fs.fsyncSync(fd);
    node.fs.closeSync(fd);
    open = false;
    node.fs.renameSync(tmp, path);
  } catch (e) {
    if (open) node.fs.closeSync(fd);
    node.fs.rmSync(tmp, { force: true });
    throw e;
  }
  return model.length;
}
