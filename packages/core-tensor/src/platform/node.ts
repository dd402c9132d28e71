/**
 * The one place the packages reach Node's built-ins. package.json's `browser` map swaps this file for
 * node.browser.ts, so a browser bundle holds no `node:*` import while Node keeps every feature under the
 * same names. Callers read members at call time (`node.fsp.readFile(...)`), never at module load, so the
 * browser stand-ins throw NodeOnlyError only when a Node-only path actually runs. Default imports are the
 * modules' own objects, which code may patch (wasm-threads.ts swaps os.cpus for the wasm loader).
 */
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import url from 'node:url';

export interface NodeBuiltins {
  crypto: typeof crypto;
  events: { once: typeof once };
  fs: typeof fs;
  fsp: typeof fsp;
  module: typeof module;
  os: typeof os;
  path: typeof path;
  url: typeof url;
}

export const node: NodeBuiltins = { crypto, events: { once }, fs, fsp, module, os, path, url };

/** onnxruntime-node is an optional peer dependency: imported only when the 'onnx' engine is asked for. */
export const importOnnxRuntime = () => import('onnxruntime-node');
