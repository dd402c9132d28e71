import * as tf from '@tensorflow/tfjs-core';
import { registerGradients } from '../gradients.js';
import { node } from '../platform/node.js';
import { type BackendName, BackendUnavailableError } from './errors.js';
import { serialQueue } from './serial.js';
import { registerWasmSharedIdentity } from './wasm-identity.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { registerWasmBatchMatMul } from './wasm-matmul.js';
import { registerThreadedWasm } from './wasm-threads.js';
import { provideWebGPU } from './webgpu.js';

export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  name: BackendName;
  /** GPU adapter description, for webgpu. */
  adapter?: string;
  /** Why `auto` did not get a faster backend. */
  fallbackReason?: string;
  /** Threads the wasm backend computes on. */
  threads?: number;
}

type WasmBinary =
  | 'tfjs-backend-wasm.wasm'
  | 'tfjs-backend-wasm-simd.wasm'
  | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface BackendOptions {
  /**
   * Threads for the wasm backend in Node (default: $ATTN_WASM_THREADS, else 1). Fixed at the backend's first
   * start in a process. In the browser tfjs decides (threads need a cross-origin-isolated page).
   */
  threads?: number;
  /**
   * In a page: where tfjs fetches its .wasm binaries, a folder URL ending in '/' or a map from binary name
   * ('tfjs-backend-wasm.wasm', '-simd', '-threaded-simd') to URL. Default: tfjs's own, the folder of the page's
   * script, so copying the package's dist/*.wasm beside the bundle is all a plain setup needs. Node ignores it.
   */
  wasmPaths?: string | Partial<Record<WasmBinary, string>>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const NAMES: readonly string[] = ['auto', 'webgpu', 'wasm', 'cpu'];

/** Adapter descriptions of software (CPU-emulated) WebGPU implementations: slower than wasm. */
export const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

async function activate(
  name: BackendName,
  opts: BackendOptions,
): Promise<Omit<BackendInfo, 'fallbackReason'>> {
  // The CPU backend is always registered: wasm forwards its missing training kernels to it.
  await import('@tensorflow/tfjs-backend-cpu');
  let adapter: string | undefined;
  let threads: number | undefined;
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const wanted = opts.threads ?? Number(isNode ? (process.env.ATTN_WASM_THREADS ?? 1) : 1);
    if (!Number.isInteger(wanted) || wanted < 1)
      throw new Error(
        `threads: expected a whole number ≥ 1, got ${opts.threads ?? process.env.ATTN_WASM_THREADS}`,
      );
    if (isNode && wanted > 1) await registerThreadedWasm(wanted);
    else if (isNode) wasm.setWasmPaths(await nodeWasmDir());
    else if (opts.wasmPaths !== undefined) wasm.setWasmPaths(opts.wasmPaths);
    registerWasmTrainingKernels();
    registerWasmBatchMatMul();
    registerWasmSharedIdentity();
  } else if (name === 'webgpu') {
    adapter = await provideWebGPU();
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new BackendUnavailableError(name, `tfjs could not initialise it: ${(e as Error).message}`);
  }
  if (!ok) throw new BackendUnavailableError(name, 'tfjs could not initialise it');
  await tf.ready();
  await registerGradients();
  if (name === 'wasm') threads = (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  return { name, ...(adapter && { adapter }), ...(threads && { threads }) };
}

/** In Node the .wasm binaries are read from the installed package rather than fetched from a CDN. */
async function nodeWasmDir(): Promise<string> {
  const { createRequire } = node.module;
  const { dirname } = node.path;
  const { pathToFileURL } = node.url;
  const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  return `${pathToFileURL(dir).pathname}/dist/`;
}

/**
 * Chooses and activates a tfjs backend. `auto` tries WebGPU, then WASM, then CPU, and passes over a WebGPU
 * adapter that is software-emulated (SwiftShader on a machine without a GPU), which is slower than WASM.
 * The environment variable ATTN_BACKEND overrides the preference.
 * A backend asked for by name that cannot start throws BackendUnavailableError (never a silent fallback).
 */
export function initBackend(
  preference: BackendPreference = 'auto',
  opts: BackendOptions = {},
): Promise<BackendInfo> {
  return oneStartAtATime(() => start(preference, opts));
}

const oneStartAtATime = serialQueue();

async function start(preference: BackendPreference, opts: BackendOptions): Promise<BackendInfo> {
  const env = isNode ? process.env.ATTN_BACKEND : undefined;
  const wanted = env || preference;
  if (!NAMES.includes(wanted))
    throw new Error(
      `unknown backend "${wanted}"${env ? ' (from ATTN_BACKEND)' : ''}: use ${NAMES.join(', ')}`,
    );
  if (wanted !== 'auto') return activate(wanted as BackendName, opts);
  const reasons: string[] = [];
  for (const name of ['webgpu', 'wasm', 'cpu'] as const) {
    try {
      const info = await activate(name, opts);
      if (info.adapter && SOFTWARE_ADAPTER.test(info.adapter)) {
        reasons.push(`${name}: adapter "${info.adapter}" is software-emulated; wasm is faster`);
        continue;
      }
      return reasons.length ? { ...info, fallbackReason: reasons.join('; ') } : info;
    } catch (e) {
      reasons.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no backend could start: ${reasons.join('; ')}`);
}
