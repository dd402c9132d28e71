/**
 * A Node-only feature (local files, worker threads, onnxruntime-node) was called in a browser build,
 * where the package's `browser` map replaces Node's built-ins with stand-ins that throw this.
 */
export class NodeOnlyError extends Error {
  override readonly name = 'NodeOnlyError';
  constructor(
    /** What was reached for: 'node:fs/promises.readFile', 'onnxruntime-node', … */
    readonly feature: string,
  ) {
    super(
      `${feature} needs Node: in a browser, load models by URL or hub id and pass images as Blob/ImageData`,
    );
  }
}
