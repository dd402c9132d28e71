/**
 * The tfjs backend for the CLI's tfjs-only steps (training, export): @attn/core-tensor's device resolution
 * restricted to tfjs, so `auto` here is the pipelines' `auto` minus the native engine — WebGPU on a real GPU
 * (never a software adapter; on Linux with no GPU device node not even probed), else wasm on every core.
 */
import {
  type BackendInfo,
  type BackendOptions,
  type BackendPreference,
  resolveDevice,
} from '@attn/core-tensor';

export { describeBackend, mayHaveGpu } from '@attn/core-tensor';
export const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm', 'cpu'] as const;

export async function selectBackend(
  preference: BackendPreference = 'auto',
  opts: BackendOptions = {},
): Promise<BackendInfo> {
  const d = await resolveDevice(preference, { ...opts, tfjsOnly: true });
  return { ...d.backend!, ...(d.fallbackReason && { fallbackReason: d.fallbackReason }) };
}
