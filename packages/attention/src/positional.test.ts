import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttentionShapeError, LearnedPositionalEmbedding, sinusoidalPositionalEncoding } from './index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('sinusoidalPositionalEncoding', () => {
  it('equals sin(pos/10000^(2i/d)) and cos(…) entry by entry (float32 of the float64 formula)', async () => {
    const [maxLen, d] = [50, 16];
    await expectNoLeaks(() => sinusoidalPositionalEncoding(maxLen, d).dispose(), 'sinusoidal');
    const pe = sinusoidalPositionalEncoding(maxLen, d);
    expect(pe.shape).toEqual([maxLen, d]);
    const v = pe.dataSync();
    for (let pos = 0; pos < maxLen; pos++)
      for (let i = 0; i < d / 2; i++) {
        const angle = pos / 10000 ** ((2 * i) / d);
        expect(v[pos * d + 2 * i]).toBe(Math.fround(Math.sin(angle)));
        expect(v[pos * d + 2 * i + 1]).toBe(Math.fround(Math.cos(angle)));
      }
    // Hand-checked anchors: position 0 is (0, 1, 0, 1, …); position 1, pair 0 is (sin 1, cos 1).
    expect(Array.from(v.slice(0, 4))).toEqual([0, 1, 0, 1]);
    expect(v[d]).toBeCloseTo(0.841471, 6);
    expect(v[d + 1]).toBeCloseTo(0.540302, 6);
    pe.dispose();
  });

  it('PE(pos + k) is the same linear map (a rotation per frequency pair) of PE(pos) for every pos', () => {
    const [maxLen, d] = [64, 12];
    const pe = sinusoidalPositionalEncoding(maxLen, d);
    const v = pe.dataSync();
    for (const k of [1, 5, 17]) {
      // M_k depends only on k: [[cos kω, sin kω], [−sin kω, cos kω]] on each (sin, cos) pair.
      for (let pos = 0; pos + k < maxLen; pos++)
        for (let i = 0; i < d / 2; i++) {
          const w = 1 / 10000 ** ((2 * i) / d);
          const [s, c] = [v[pos * d + 2 * i]!, v[pos * d + 2 * i + 1]!];
          const mapped = [
            s * Math.cos(k * w) + c * Math.sin(k * w),
            c * Math.cos(k * w) - s * Math.sin(k * w),
          ];
          expect(Math.abs(mapped[0]! - v[(pos + k) * d + 2 * i]!)).toBeLessThan(2e-6);
          expect(Math.abs(mapped[1]! - v[(pos + k) * d + 2 * i + 1]!)).toBeLessThan(2e-6);
        }
    }
    pe.dispose();
  });

  it('the map is linear in PE(pos) alone: least squares from positions 0..39 predicts positions 40..59', () => {
    // Fit M with PE(pos+3) ≈ PE(pos)·M on early positions only; it must hold for later ones too.
    const d = 8;
    const pe = sinusoidalPositionalEncoding(64, d);
    const fitted = tf.tidy(() => {
      const A = tf.slice(pe, [0, 0], [40, d]);
      const B = tf.slice(pe, [3, 0], [40, d]);
      const At = tf.transpose(A);
      // Normal equations with the 2×2 block structure known to be exact: solve per pair in JS below.
      return [tf.matMul(At, A).arraySync(), tf.matMul(At, B).arraySync()] as number[][][];
    });
    const [AtA, AtB] = fitted as [number[][], number[][]];
    const v = pe.dataSync();
    for (let i = 0; i < d / 2; i++) {
      // 2×2 solve for the pair (2i, 2i+1).
      const [a, b, c, e] = [
        AtA[2 * i]![2 * i]!,
        AtA[2 * i]![2 * i + 1]!,
        AtA[2 * i + 1]![2 * i]!,
        AtA[2 * i + 1]![2 * i + 1]!,
      ];
      const det = a * e - b * c;
      const inv = [e / det, -b / det, -c / det, a / det];
      const M = [0, 1].map((col) => [
        inv[0]! * AtB[2 * i]![2 * i + col]! + inv[1]! * AtB[2 * i + 1]![2 * i + col]!,
        inv[2]! * AtB[2 * i]![2 * i + col]! + inv[3]! * AtB[2 * i + 1]![2 * i + col]!,
      ]);
      for (let pos = 40; pos < 60; pos++) {
        const [s, co] = [v[pos * d + 2 * i]!, v[pos * d + 2 * i + 1]!];
        for (const col of [0, 1])
          expect(Math.abs(s * M[col]![0]! + co * M[col]![1]! - v[(pos + 3) * d + 2 * i + col]!)).toBeLessThan(
            1e-4,
          );
      }
    }
    pe.dispose();
  });

  it('handles odd dModel and rejects bad sizes', () => {
    const pe = sinusoidalPositionalEncoding(3, 5);
    expect(pe.shape).toEqual([3, 5]);
    expect(pe.dataSync()[5 + 4]).toBe(Math.fround(Math.sin(1 / 10000 ** (4 / 5))));
    pe.dispose();
    expect(() => sinusoidalPositionalEncoding(0, 4)).toThrow(AttentionShapeError);
    expect(() => sinusoidalPositionalEncoding(4, 2.5)).toThrow(/dModel/);
  });
});

describe('learned positional embeddings', () => {
  it('LearnedPositionalEmbedding returns rows offset..offset+length−1 of `weight`', () => {
    const pos = new LearnedPositionalEmbedding(10, 4);
    expect(pos.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const rows = pos.forward(3, 2);
    const w = pos.weight.value.arraySync() as number[][];
    expect(rows.arraySync()).toEqual(w.slice(2, 5));
    expect(() => pos.forward(9, 2)).toThrow(/maxPositions 10/);
    rows.dispose();
    pos.dispose();
  });
});
