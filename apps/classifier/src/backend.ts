/**
 * Backend choice for the CLI and the server. `auto` means "the fastest thing this machine really has":
 * @attn/core-tensor's initBackend tries WebGPU (passing over software adapters such as SwiftShader), then
 * WASM, then CPU. On a Linux machine with no GPU device node the CLI goes straight to WASM, which spares
 * the user Dawn's probing messages; either way it says why.
 */
import { existsSync, readdirSync } from 'node:fs';
import {
  type BackendInfo,
  type BackendOptions,
  type BackendPreference,
  initBackend,
} from '@attn/core-tensor';

export const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm', 'cpu'] as const;

/** False on Linux when there is no GPU device node (DRM render node or NVIDIA device); true elsewhere. */
export function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri') : [];
  return dri.some((f) => f.startsWith('renderD')) || existsSync('/dev/nvidia0');
}

export async function selectBackend(
  preference: BackendPreference = 'auto',
  opts: BackendOptions = {},
): Promise<BackendInfo> {
  const chosenByAuto = preference === 'auto' && !process.env.ATTN_BACKEND;
  if (chosenByAuto && !mayHaveGpu()) {
    const wasm = await initBackend('wasm', opts);
    return {
      ...wasm,
      fallbackReason: 'no GPU device (/dev/dri/renderD*, /dev/nvidia0): webgpu would be software-emulated',
    };
  }
  return initBackend(preference, opts);
}

/** "wasm", "wasm (2 threads)", "webgpu (NVIDIA …)": how the CLI and the web page name the engine that ran a request. */
export function describeBackend(info: BackendInfo): string {
  if (info.adapter) return `${info.name} (${info.adapter})`;
  return info.threads && info.threads > 1 ? `${info.name} (${info.threads} threads)` : info.name;
}
