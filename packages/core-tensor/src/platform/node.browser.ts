/**
 * The browser build's node.ts (swapped in by package.json's `browser` map): the same names, each a stand-in
 * whose members throw NodeOnlyError when read, so a Node-only path fails with a typed error naming it.
 */
import { NodeOnlyError } from './errors.js';
import type { NodeBuiltins } from './node.js';

function unavailable<T extends object>(specifier: string): T {
  return new Proxy({} as T, {
    get(_target, member) {
      // Promise resolution and module interop probe `then`/`default`; answering undefined keeps them quiet.
      if (member === 'then' || typeof member === 'symbol') return undefined;
      throw new NodeOnlyError(`${specifier}.${String(member)}`);
    },
  });
}

export const node: NodeBuiltins = {
  crypto: unavailable('node:crypto'),
  events: unavailable('node:events'),
  fs: unavailable('node:fs'),
  fsp: unavailable('node:fs/promises'),
  module: unavailable('node:module'),
  os: unavailable('node:os'),
  path: unavailable('node:path'),
  url: unavailable('node:url'),
};

export const importOnnxRuntime = (): Promise<typeof import('onnxruntime-node')> =>
  Promise.reject(new NodeOnlyError('onnxruntime-node'));
