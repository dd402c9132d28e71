import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectNoLeaks, deterministicValues as values } from '../testing.js';
import { initBackend } from './init.js';

// Vitest runs each file in a fresh process, so this file's wasm backend starts threaded.
describe('wasm on a thread pool (Node)', () => {
  it('starts with the threads asked for and computes the same products', async () => {
    const info = await initBackend('wasm', { threads: 2 });
    expect(info).toMatchObject({ name: 'wasm', threads: 2 });
    const [m, k, n] = [96, 80, 72];
    const [av, bv] = [values(m * k, 1), values(k * n, 2)];
    const got = await expectNoLeaks(async () => {
      const [a, b] = [tf.tensor2d(av, [m, k]), tf.tensor2d(bv, [k, n])];
      // Large enough that XNNPACK splits the output between the threads; plus a batched, transposed product.
      const [c, d] = tf.tidy(() => {
        const a3 = tf.reshape(a, [4, 24, k]);
        return [tf.matMul(a, b), tf.matMul(a3, a3, false, true)];
      });
      const out = [await c.data(), await d.data()];
      tf.dispose([a, b, c, d]);
      return out;
    }, 'threaded matmul');
    for (let i = 0; i < m; i += 7)
      for (let j = 0; j < n; j += 5) {
        let ref = 0;
        for (let p = 0; p < k; p++) ref += av[i * k + p]! * bv[p * n + j]!;
        expect(Math.abs(got[0]![i * n + j]! - ref)).toBeLessThan(1e-5);
      }
    // batch 2, rows 3 and 10 of that batch's [24, k] block: a dot product of two rows of a
    const row = (r: number) => av.subarray((48 + r) * k, (49 + r) * k);
    let ref = 0;
    for (let p = 0; p < k; p++) ref += row(3)[p]! * row(10)[p]!;
    expect(Math.abs(got[1]![2 * 24 * 24 + 3 * 24 + 10]! - ref)).toBeLessThan(1e-5);
  });

  it('refuses a thread count that is not a whole number', async () => {
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(/threads: expected a whole number/);
  });
});

describe('a Node process on the thread pool', () => {
  it('exits by itself once its work is done (the pool threads do not hold the event loop)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend } from ${JSON.stringify(dist)};
      const info = await initBackend('wasm', { threads: 2 });
      const c = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
      console.log(info.threads, (await c.data())[0]);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.signal, `still running after 60 s; stderr: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('2 64');
  });
});
