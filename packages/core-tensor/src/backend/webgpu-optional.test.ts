/**
 * WebGPU in Node is opt-in: `webgpu` (Dawn) is an optional peer dependency. These tests play a machine where
 * it is not installed (or is broken) by replacing how Dawn is loaded; the pack-and-install test
 * (scripts/pack-install-test.mjs) checks the same message against a real install without the package.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from './errors.js';
import { initBackend } from './init.js';
import { setDawnLoader } from './webgpu.js';

/** The error Node's ESM loader throws for a package that is not in node_modules. */
function moduleNotFound(name: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}' imported from /app/node_modules/x.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

describe('webgpu without the optional `webgpu` package', () => {
  beforeEach(() => {
    // A Dawn loaded earlier in this process would be found on navigator.gpu before the loader is asked.
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (nav && 'gpu' in nav) delete nav.gpu;
    delete process.env.ATTN_BACKEND;
  });
  afterEach(() => setDawnLoader());

  it('initBackend("webgpu") throws BackendUnavailableError telling the user to install it', async () => {
    setDawnLoader(() => Promise.reject(moduleNotFound('webgpu')));
    const err = await initBackend('webgpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).backend).toBe('webgpu');
    expect((err as Error).message).toBe(
      'backend "webgpu" is unavailable: WebGPU in Node needs the optional npm package "webgpu" (Dawn), ' +
        'which is not installed: install it with `npm install webgpu`',
    );
  });

  it('says the package is installed but broken, with the cause, when it fails for another reason', async () => {
    setDawnLoader(() => Promise.reject(new Error('libvulkan.so.1: cannot open shared object file')));
    const err = await initBackend('webgpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/"webgpu" \(Dawn\) is installed but cannot be loaded/);
    expect((err as Error).message).toMatch(/libvulkan\.so\.1: cannot open shared object file$/);
  });

  it('does not mistake a missing dependency of Dawn for Dawn itself', async () => {
    setDawnLoader(() => Promise.reject(moduleNotFound('bindings')));
    await expect(initBackend('webgpu')).rejects.toThrow(/installed but cannot be loaded.*'bindings'/);
  });

  it('auto falls back to wasm without throwing, keeping the reason', async () => {
    setDawnLoader(() => Promise.reject(moduleNotFound('webgpu')));
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.fallbackReason).toMatch(/^webgpu: .*`npm install webgpu`/);
  });
});
