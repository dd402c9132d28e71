import { describe, expect, it } from 'vitest';
import { mayHaveGpu, selectBackend } from '../src/backend.js';

describe.skipIf(!!process.env.ATTN_BACKEND)('selectBackend', () => {
  it('auto never settles on a software WebGPU adapter, and says why it fell back', async () => {
    const info = await selectBackend('auto');
    if (info.name === 'webgpu') expect(info.adapter).not.toMatch(/swiftshader|llvmpipe|lavapipe/i);
    else expect(info.fallbackReason).toBeTruthy();
    if (!(await mayHaveGpu()))
      expect(info).toEqual({
        name: 'wasm',
        threads: expect.any(Number),
        fallbackReason: expect.stringMatching(/no GPU device/),
      });
  });

  it('a backend asked for by name is used as is', async () => {
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu' });
    expect(await selectBackend('wasm')).toEqual({ name: 'wasm', threads: expect.any(Number) });
  });
});
