import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { backendsUnderTest, expectNoLeaks } from '../testing.js';
import { BackendUnavailableError } from './errors.js';
import { initBackend, SOFTWARE_ADAPTER } from './init.js';
import { WASM_FORWARDED_KERNELS } from './wasm-kernels.js';

const backends = await backendsUnderTest();

describe('initBackend', () => {
  afterEach(() => {
    delete process.env.ATTN_BACKEND;
  });

  it('starts each backend asked for by name', async () => {
    for (const name of backends) {
      const info = await initBackend(name);
      expect(info.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      if (name === 'webgpu') expect(info.adapter).toMatch(/\w/); // e.g. "SwiftShader driver 5.0.0"
    }
  });

  it('lets ATTN_BACKEND override the preference, and rejects unknown names', async () => {
    process.env.ATTN_BACKEND = 'cpu';
    expect((await initBackend('wasm')).name).toBe('cpu');
    process.env.ATTN_BACKEND = 'tpu';
    await expect(initBackend()).rejects.toThrow('unknown backend "tpu" (from ATTN_BACKEND)');
  });

  it('auto picks the first of webgpu (on real hardware), wasm, cpu that starts, saying why it fell back', async () => {
    const info = await initBackend('auto');
    if (info.name === 'webgpu') expect(info.adapter).not.toMatch(SOFTWARE_ADAPTER);
    else expect(info.name).toBe('wasm');
    if (info.name !== 'webgpu') expect(info.fallbackReason).toMatch(/^webgpu: /);
  });

  it('has a typed error naming the backend and the reason', () => {
    const e = new BackendUnavailableError('webgpu', 'no adapter');
    expect(e.message).toBe('backend "webgpu" is unavailable: no adapter');
  });
});

describe('wasm training kernels forwarded to the cpu implementation', () => {
  /** Conv2d weight gradient (Conv2DBackpropFilter), einsum, and gather's gradient (UnsortedSegmentSum). */
  async function run() {
    const [dw, e, seg] = tf.tidy(() => {
      const x = tf.tensor4d(
        Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i)),
        [2, 6, 6, 3],
      );
      const w = tf.tensor4d(
        Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => Math.cos(i)),
        [2, 2, 3, 4],
      );
      return [
        tf.grad((k: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, k as tf.Tensor4D, 2, 'valid'))))(w),
        tf.einsum('ij,jk->ik', tf.reshape(x, [36, 6]), tf.reshape(w, [6, 8])),
        tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([0, 2, 0, 1], 'int32'), 3),
      ];
    });
    const out = [await dw.data(), await e.data(), await seg.data()];
    tf.dispose([dw, e, seg]);
    return out;
  }

  it('registers every forwarded kernel for wasm and matches cpu exactly', async () => {
    await initBackend('cpu');
    const want = await run();
    await initBackend('wasm');
    for (const k of WASM_FORWARDED_KERNELS) expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
    const got = await expectNoLeaks(run, 'forwarded kernels on wasm');
    expect([...got[2]!]).toEqual([4, 4, 2]);
    // The forwarded kernels run the cpu code, but their inputs come from wasm's own (XNNPACK) forward ops.
    for (const [i, g] of got.entries())
      for (const [j, v] of g.entries()) expect(Math.abs(v - want[i]![j]!)).toBeLessThan(1e-5);
  });
});
