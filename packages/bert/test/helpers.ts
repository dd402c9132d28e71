import { readFileSync } from 'node:fs';
import type { tf } from '@attn/core-tensor';
import * as testing from '@attn/core-tensor/testing';
import { expect } from 'vitest';

export const { fixturePath, haveFixtures } = testing;

/** cpu, wasm, and webgpu where an adapter exists (core-tensor's list). */
export const backends = testing.backendsUnderTest;

export const GOLD_DIR = () => fixturePath('bert-tiny-random');

export function readGolden<T = any>(name: string): T {
  return JSON.parse(readFileSync(fixturePath('golden', name), 'utf8'));
}

/** Element-wise |actual − expected| ≤ tol over nested arrays, with the worst index in the message. */
/** Reads tensors asynchronously: WebGPU in Node has no synchronous read-back. */
export async function expectClose(
  actual: ArrayLike<number> | tf.Tensor,
  expected: unknown,
  tol: number,
  label: string,
) {
  const a =
    'dataSync' in (actual as object) ? await (actual as tf.Tensor).data() : (actual as ArrayLike<number>);
  const e = (expected as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
  expect(a.length, `${label}: element count`).toBe(e.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `${label}: max |diff| at flat index ${at} (got ${a[at]}, want ${e[at]})`).toBeLessThanOrEqual(
    tol,
  );
}

export function shapeOf(x: unknown): number[] {
  const s: number[] = [];
  let v = x;
  while (Array.isArray(v)) {
    s.push(v.length);
    v = v[0];
  }
  return s;
}
