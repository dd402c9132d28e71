import { BackendUnavailableError } from './errors.js';

type AdapterInfo = { description?: string; vendor?: string; architecture?: string; device?: string };

/** The part of the WebGPU API we touch here (no dependency on @webgpu/types). */
interface GPULike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<{
    info?: AdapterInfo;
    requestAdapterInfo?(): Promise<AdapterInfo>;
  } | null>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/**
 * Makes `navigator.gpu` available and returns a description of the adapter tfjs will get.
 * Browser: the page's own `navigator.gpu`. Node: Dawn from the npm package `webgpu` (an optional peer
 * dependency the user installs to opt in), whose
 * globals (GPUBufferUsage, …) tfjs-backend-webgpu expects to find on globalThis.
 */
export async function provideWebGPU(): Promise<string> {
  const nav = (globalThis as { navigator?: { gpu?: GPULike } }).navigator;
  let gpu = nav?.gpu;
  if (!gpu && isNode) gpu = await nodeGPU();
  if (!gpu)
    throw new BackendUnavailableError('webgpu', 'navigator.gpu is undefined (this browser has no WebGPU)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    throw new BackendUnavailableError(
      'webgpu',
      isNode
        ? 'Dawn found no GPU adapter (without a GPU, install libvulkan1 + chromium and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)'
        : 'navigator.gpu.requestAdapter() returned null',
    );
  // `info` is the current API; Chrome before 127 had only requestAdapterInfo().
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  return (
    info.description ||
    [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') ||
    'unknown adapter'
  );
}

/** The part of the `webgpu` (Dawn) package's exports we use. */
export interface DawnModule {
  create(flags: string[]): unknown;
  globals: object;
}

// A computed specifier, so browser bundlers do not try to bundle the Node-only package.
const DAWN_PACKAGE = 'webgpu';
const importDawn = (): Promise<DawnModule> => import(/* @vite-ignore */ DAWN_PACKAGE);
let loadDawn = importDawn;
let dawn: GPULike | undefined;

/**
 * Replaces how Node loads Dawn (no argument: the real `import('webgpu')`) and forgets a Dawn already
 * loaded, so that a test can play a machine where the optional package is not installed.
 */
export function setDawnLoader(loader?: () => Promise<DawnModule>): void {
  loadDawn = loader ?? importDawn;
  dawn = undefined;
}

function notInstalled(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') &&
    (err.message ?? '').includes(`'${DAWN_PACKAGE}'`)
  );
}

async function nodeGPU(): Promise<GPULike> {
  if (dawn) return dawn;
  let mod: DawnModule;
  try {
    mod = await loadDawn();
  } catch (e) {
    // WebGPU in Node is opt-in: `webgpu` is an optional peer dependency of @attn/core-tensor (132 MB of Dawn).
    throw new BackendUnavailableError(
      'webgpu',
      notInstalled(e)
        ? `WebGPU in Node needs the optional npm package "webgpu" (Dawn), which is not installed: install it with \`npm install webgpu\``
        : `the npm package "webgpu" (Dawn) is installed but cannot be loaded (reinstall it with \`npm install webgpu\`): ${(e as Error).message}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  dawn = mod.create([]) as unknown as GPULike;
  const g = globalThis as { navigator?: object };
  g.navigator ??= {}; // Node 20 has no navigator; Node ≥ 21 has one without gpu
  Object.defineProperty(g.navigator, 'gpu', { value: dawn, configurable: true });
  return dawn;
}
