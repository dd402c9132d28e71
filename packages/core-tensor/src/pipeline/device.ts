import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backend/errors.js';
import { type BackendInfo, initBackend } from '../backend/init.js';
import { serialQueue } from '../backend/serial.js';
import { importOnnxRuntime, node } from '../platform/node.js';
import { PipelineError } from './errors.js';

/**
 * Where a pipeline runs: a tfjs backend ('webgpu' | 'wasm' | 'cpu'), onnxruntime-node's native kernels
 * ('native', Node only, inference only), or 'auto': the fastest of these the machine really has.
 */
export type Device = 'auto' | 'native' | BackendName;
export const DEVICES: readonly Device[] = ['auto', 'native', 'webgpu', 'wasm', 'cpu'];

export interface ResolvedDevice {
  device: Exclude<Device, 'auto'>;
  /** Which library computes the model. */
  engine: 'onnx' | 'tfjs';
  /** "native (onnxruntime-node)", "wasm (2 threads)", "webgpu (NVIDIA …)": for logs and the CLI. */
  description: string;
  /** Why 'auto' did not get a faster device. */
  fallbackReason?: string;
  /** The tfjs backend, for the tfjs devices. */
  backend?: BackendInfo;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** onnxruntime-node is an optional peer dependency: 'auto' uses it when it is installed and loads. */
export async function nativeAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (!isNode) return { ok: false, reason: 'onnxruntime-node runs in Node only' };
  try {
    await importOnnxRuntime(); // the platform seam: a browser bundle's stand-in throws here
    return { ok: true };
  } catch (e) {
    return {
      ok: false,
      reason: `onnxruntime-node is not installed (${(e as Error).message.split('\n')[0]})`,
    };
  }
}

/** False on Linux when there is no GPU device node: Dawn would only find a software adapter, slower than wasm. */
export async function mayHaveGpu(): Promise<boolean> {
  if (!isNode || process.platform !== 'linux') return true;
  const { existsSync, readdirSync } = node.fs;
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri') : [];
  return dri.some((f) => f.startsWith('renderD')) || existsSync('/dev/nvidia0');
}

async function cores(): Promise<number> {
  if (!isNode) return 1;
  const os = node.os;
  return os.availableParallelism?.() ?? os.cpus().length;
}

export function describeBackend(info: BackendInfo): string {
  if (info.adapter) return `${info.name} (${info.adapter})`;
  return info.threads && info.threads > 1 ? `${info.name} (${info.threads} threads)` : info.name;
}

let active: BackendInfo | undefined;

/** Starts a tfjs backend once per name; asking again for the active one is free. */
async function startBackend(name: BackendName, threads?: number): Promise<BackendInfo> {
  if (tf.engine().backendNames().length > 0 && tf.getBackend() === name)
    // Already running (started here, or by the caller's own initBackend): restarting would redo its setup.
    return active?.name === name ? active : { name };
  active = await initBackend(name, threads ? { threads } : {});
  return active;
}

/** The tfjs side of 'auto': WebGPU on a real adapter, otherwise wasm with a thread per core. */
async function autoTfjs(reasons: string[], wasmThreads?: number): Promise<BackendInfo> {
  if (await mayHaveGpu()) {
    try {
      const info = await startBackend('webgpu');
      if (
        !info.adapter ||
        !/swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i.test(info.adapter)
      )
        return info;
      reasons.push(`webgpu: adapter "${info.adapter}" is software-emulated`);
    } catch (e) {
      reasons.push(`webgpu: ${(e as Error).message}`);
    }
  } else reasons.push('webgpu: no GPU device (/dev/dri/renderD*, /dev/nvidia0)');
  try {
    // ATTN_WASM_THREADS, where set, is the user's choice; otherwise every core works on a batch.
    const threads = wasmThreads ?? (isNode && process.env.ATTN_WASM_THREADS ? undefined : await cores());
    return await startBackend('wasm', threads);
  } catch (e) {
    reasons.push(`wasm: ${(e as Error).message}`);
    return startBackend('cpu');
  }
}

/**
 * Resolves `device` and makes it ready. A device asked for by name that cannot start throws (never a
 * silent fallback); 'auto' tries native, then WebGPU, then wasm, and says why it passed over each.
 * The native engine still gets a tfjs backend for the small host-side steps (inputs, pooling, softmax).
 */
export function resolveDevice(
  device: Device = 'auto',
  /** `tfjsOnly`: 'auto' among the tfjs backends alone, for work the native engine cannot do (training). */
  opts: { threads?: number; tfjsOnly?: boolean } = {},
): Promise<ResolvedDevice> {
  // Pipelines created at once (Promise.all) resolve in turn: the first starts the backend, the next find it.
  return oneResolveAtATime(() => resolveNow(device, opts));
}

const oneResolveAtATime = serialQueue();

async function resolveNow(
  device: Device,
  opts: { threads?: number; tfjsOnly?: boolean },
): Promise<ResolvedDevice> {
  if (!DEVICES.includes(device))
    throw new PipelineError(
      'BAD_OPTION',
      `device: unknown device ${JSON.stringify(device)} (${DEVICES.join(', ')})`,
    );
  const reasons: string[] = [];
  if (device === 'native' || (device === 'auto' && !opts.tfjsOnly)) {
    const native = await nativeAvailable();
    if (native.ok) {
      await ensureBackend('cpu');
      // tfjs-cpu's first-use banner tells a Node user to install tfjs-node for speed; here the model already runs
      // on native kernels and tfjs only shapes inputs and outputs, so the advice would mislead.
      const cpu = tf.engine().backendNames().includes('cpu')
        ? (tf.findBackend('cpu') as { firstUse?: boolean })
        : null;
      if (cpu) cpu.firstUse = false;
      return { device: 'native', engine: 'onnx', description: 'native (onnxruntime-node)' };
    }
    if (device === 'native') throw new PipelineError('BAD_OPTION', `device 'native': ${native.reason}`);
    reasons.push(`native: ${native.reason}`);
  }
  const info =
    device === 'auto' ? await autoTfjs(reasons, opts.threads) : await startBackend(device, opts.threads);
  return {
    device: info.name,
    engine: 'tfjs',
    description: describeBackend(info),
    backend: info,
    ...(reasons.length && { fallbackReason: reasons.join('; ') }),
  };
}

/**
 * Makes sure some tfjs backend exists before tensors are made, so that code which skipped `initBackend`
 * gets one instead of tfjs's "No backend found in registry". A backend already started is kept.
 */
export async function ensureBackend(fallback: BackendName | 'auto' = 'auto'): Promise<void> {
  if (tf.engine().backendNames().length > 0) return;
  if (fallback === 'auto') await autoTfjs([]);
  else await startBackend(fallback);
}

/** Where a pipeline built by hand around a loaded model runs: natively, or on the tfjs backend running now. */
export function runningDevice(native: boolean): ResolvedDevice {
  if (native) return { device: 'native', engine: 'onnx', description: 'native (onnxruntime-node)' };
  const name = tf.getBackend() as BackendName;
  return { device: name, engine: 'tfjs', description: name };
}

/**
 * The deprecation path of the pipelines' former `runtime` option: 'onnx' is the native device, 'tfjs' the
 * tfjs backend already running (started by `initBackend`, or the fastest one). `device` wins when given.
 */
export async function deviceOf(opts: {
  device?: Device;
  runtime?: 'tfjs' | 'onnx';
}): Promise<Device | undefined> {
  if (opts.device !== undefined || opts.runtime === undefined) return opts.device;
  if (opts.runtime === 'onnx') return 'native';
  if (opts.runtime !== 'tfjs')
    throw new PipelineError('BAD_OPTION', `pipeline: unknown runtime "${opts.runtime}" (tfjs, onnx)`);
  await ensureBackend();
  return tf.getBackend() as BackendName;
}
