import * as tf from '@tensorflow/tfjs-core';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  name: BackendName;
  /** GPU adapter description, for webgpu. */
  adapter?: string;
  /** Why `auto` did not get a faster backend. */
  fallbackReason?: string;
}

export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
  ) {
    super(`backend "${backend}" is unavailable: ${reason}`);
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function activate(name: BackendName): Promise<Omit<BackendInfo, 'fallbackReason'>> {
  if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (isNode) {
      const { createRequire } = await import('node:module');
      const { dirname } = await import('node:path');
      const { pathToFileURL } = await import('node:url');
      const req = createRequire(import.meta.url);
      const dir = dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(`${pathToFileURL(dir).pathname}/dist/`);
    }
  } else {
    throw new BackendUnavailableError(name, 'not implemented yet');
  }
  if (!(await tf.setBackend(name))) throw new BackendUnavailableError(name, 'tfjs could not initialise it');
  await tf.ready();
  return { name };
}

/**
 * Chooses and activates a tfjs backend. `auto` tries WebGPU, then WASM, then CPU.
 * The environment variable ATTN_BACKEND overrides the preference.
 * A backend asked for by name that cannot start throws BackendUnavailableError (never a silent fallback).
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  const env = isNode ? process.env.ATTN_BACKEND : undefined;
  const wanted = (env as BackendPreference | undefined) || preference;
  if (wanted !== 'auto') return activate(wanted);
  const reasons: string[] = [];
  for (const name of ['webgpu', 'wasm', 'cpu'] as const) {
    try {
      const info = await activate(name);
      return reasons.length ? { ...info, fallbackReason: reasons.join('; ') } : info;
    } catch (e) {
      reasons.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no backend could start: ${reasons.join('; ')}`);
}
