/**
 * Backend choice for the CLI and the server. `auto` means "the fastest thing this machine really has":
 * @attn/core-tensor's initBackend tries WebGPU, then WASM, then CPU; but on a machine without a GPU,
 * WebGPU in Node runs on SwiftShader (a software rasteriser), which is far slower than WASM. So when
 * `auto` lands on a software adapter, we switch to WASM and say why.
 */
import { type BackendInfo, type BackendPreference, initBackend } from '@attn/core-tensor';

export const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm', 'cpu'] as const;

/** Adapter descriptions of software (CPU-emulated) WebGPU implementations. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

export async function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  const info = await initBackend(preference);
  const chosenByAuto = preference === 'auto' && !process.env.ATTN_BACKEND;
  if (chosenByAuto && info.name === 'webgpu' && SOFTWARE_ADAPTER.test(info.adapter ?? '')) {
    const wasm = await initBackend('wasm');
    return {
      ...wasm,
      fallbackReason: `webgpu adapter "${info.adapter}" is software-emulated; wasm is faster`,
    };
  }
  return info;
}

/** "wasm", "webgpu (NVIDIA …)": how the CLI and the web page name the engine that ran a request. */
export function describeBackend(info: BackendInfo): string {
  return info.adapter ? `${info.name} (${info.adapter})` : info.name;
}
