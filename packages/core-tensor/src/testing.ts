/**
 * Helpers for the workspace's tests: where the reference fixtures live, a tensor-leak check, and
 * deterministic inputs.
 * Exported as `@attn/core-tensor/testing`; not part of the runtime API.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './backend/errors.js';
import { provideWebGPU } from './backend/webgpu.js';
import { importOnnxRuntime } from './platform/node.js';
import { Random } from './random.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** ../shared/fixtures beside the repository, or $ATTN_FIXTURES. */
export function fixturesDir(): string {
  return process.env.ATTN_FIXTURES ?? resolve(repoRoot, '../shared/fixtures');
}

/**
 * True when the fixtures exist. When they do not, prints a visible skip message, and under CI=true throws:
 * CI must never pass by skipping the gold.
 */
export function haveFixtures(what = 'fixture tests'): boolean {
  if (existsSync(fixturesDir())) return true;
  const msg = `fixtures not found at ${fixturesDir()} (set ATTN_FIXTURES): skipping ${what}`;
  if (process.env.CI === 'true') throw new Error(`${msg} — under CI=true the fixtures are required`);
  console.warn(`\n[attn] ${msg}\n`);
  return false;
}

/**
 * True when onnxruntime-node (the native engine, an optional peer dependency) loads. When it does not, prints
 * a visible skip message naming `what`, and under CI=true throws, as `haveFixtures` does.
 */
export async function haveOnnxRuntime(what: string): Promise<boolean> {
  try {
    await importOnnxRuntime();
    return true;
  } catch (e) {
    const msg = `onnxruntime-node is not installed (${(e as Error).message}): skipping ${what}`;
    if (process.env.CI === 'true') throw new Error(`${msg} — under CI=true the native engine is required`);
    console.warn(`\n[attn] ${msg}\n`);
    return false;
  }
}

export function fixturePath(...parts: string[]): string {
  return resolve(fixturesDir(), ...parts);
}

/** Runs `fn` and throws if it leaves more tensors alive than it found. Returns fn's result. */
export async function expectNoLeaks<T>(fn: () => T | Promise<T>, label = 'call'): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`${label} leaked ${after - before} tensor(s) (${before} → ${after})`);
  return out;
}

let underTest: Promise<BackendName[]> | undefined;

/**
 * The backends every numerical test runs on: cpu and wasm always, webgpu when an adapter exists
 * (Dawn on SwiftShader in CI). $ATTN_TEST_BACKENDS (e.g. "cpu,webgpu") narrows the list.
 * Under CI=true with ATTN_REQUIRE_WEBGPU=1 a missing webgpu is an error, never a silent skip.
 * Use with top-level await: `describe.each(await backendsUnderTest())(...)`.
 */
export function backendsUnderTest(): Promise<BackendName[]> {
  underTest ??= (async () => {
    const only = process.env.ATTN_TEST_BACKENDS?.split(',').map((s) => s.trim());
    const names: BackendName[] = ['cpu', 'wasm'];
    if (only && !only.includes('webgpu')) return names.filter((n) => only.includes(n));
    try {
      const adapter = await provideWebGPU();
      names.push('webgpu');
      console.info(`[attn] webgpu adapter: ${adapter}`);
    } catch (e) {
      const msg = `webgpu unavailable, its tests are skipped: ${(e as Error).message}`;
      if (process.env.CI === 'true' && process.env.ATTN_REQUIRE_WEBGPU === '1')
        throw new Error(`${msg} — under CI=true with ATTN_REQUIRE_WEBGPU=1 webgpu is required`);
      console.warn(`\n[attn] ${msg}\n`);
    }
    return only ? names.filter((n) => only.includes(n)) : names;
  })();
  return underTest;
}

/** Deterministic values in [-scale, scale) from the seeded Random: the same inputs on every backend and run. */
export function deterministicValues(n: number, seed: number, scale = 1): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: n }, () => (random.next() - 0.5) * 2 * scale);
}

/** Debian's Chromium, which the browser tests and `pnpm bench:browser` drive through Playwright. */
/** Two flattened outputs compared: max |a − b| / max |b|, and their cosine. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; cos: number } {
  let [d, m, ab, aa, bb] = [0, 0, 0, 0, 0];
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return { rel: d / m, cos: ab / Math.sqrt(aa * bb) };
}

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium flags, with no background traffic. `webgpu`: 'system' (default) exposes WebGPU over
 * Vulkan on whatever adapter the machine has; 'swiftshader' pins the software adapter (how a machine without
 * a GPU tests WebGPU numerics); false turns the GPU off, so a page's 'auto' is WASM.
 */
export function chromiumArgs(opts: { webgpu?: 'system' | 'swiftshader' | false } = {}): string[] {
  const webgpu = opts.webgpu ?? 'system';
  return [
    '--headless',
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    ...(webgpu === false ? ['--disable-gpu'] : ['--enable-unsafe-webgpu', '--enable-features=Vulkan']),
    ...(webgpu === 'swiftshader' ? ['--use-webgpu-adapter=swiftshader'] : []),
  ];
}
