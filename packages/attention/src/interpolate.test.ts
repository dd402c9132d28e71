import { readFileSync } from 'node:fs';
import { initBackend, loadSafetensors, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../test/helpers.js';
import { uniform } from '../test/reference.js';
import { AttentionShapeError, interpolatePositionEmbeddings } from './index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/**
 * torch.nn.functional.interpolate(mode='bicubic', align_corners=False, scale_factor=s) written out directly
 * per output pixel (ATen's upsample_bicubic2d): source = (o + 0.5)/s − 0.5, 4×4 taps clamped at the border,
 * cubic convolution with a = −0.75. grid [g][g][D] → [h][w][D].
 */
function torchBicubic(grid: number[][][], h: number, w: number, sh: number, sw: number) {
  const A = -0.75;
  const cc1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const cc2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  const coeffs = (t: number) => [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)];
  const g = grid.length;
  const D = grid[0]![0]!.length;
  const at = (y: number, x: number) =>
    grid[Math.min(Math.max(y, 0), g - 1)]![Math.min(Math.max(x, 0), g - 1)]!;
  const out: number[][][] = [];
  for (let oy = 0; oy < h; oy++) {
    out.push([]);
    const ry = (oy + 0.5) / sh - 0.5;
    const [iy, cy] = [Math.floor(ry), coeffs(ry - Math.floor(ry))];
    for (let ox = 0; ox < w; ox++) {
      const rx = (ox + 0.5) / sw - 0.5;
      const [ix, cx] = [Math.floor(rx), coeffs(rx - Math.floor(rx))];
      const px = new Array<number>(D).fill(0);
      for (let a = 0; a < 4; a++)
        for (let b = 0; b < 4; b++) {
          const v = at(iy - 1 + a, ix - 1 + b);
          for (let d = 0; d < D; d++) px[d]! += cy[a]! * cx[b]! * v[d]!;
        }
      out[oy]!.push(px);
    }
  }
  return out;
}

/** HF ViT's call: scale factors (h + 0.1)/g and (w + 0.1)/g, CLS row kept in front. */
function hfReference(pos: Float32Array, g: number, D: number, h: number, w: number) {
  const grid = Array.from({ length: g }, (_, y) =>
    Array.from({ length: g }, (_, x) => Array.from(pos.slice((1 + y * g + x) * D, (2 + y * g + x) * D))),
  );
  const out = torchBicubic(grid, h, w, (h + 0.1) / g, (w + 0.1) / g);
  return [...Array.from(pos.slice(0, D)), ...out.flat(2)];
}

describe('interpolatePositionEmbeddings (HF ViT interpolate_pos_encoding)', () => {
  it.each([
    [4, 6, 6],
    [4, 7, 5],
    [5, 3, 3],
    [4, 4, 9],
  ])('grid %i² → %i×%i equals the direct per-pixel torch bicubic', async (g, h, w) => {
    const D = 3;
    const data = uniform((1 + g * g) * D, g * 100 + h * 10 + w);
    const pos = tf.tensor3d(data, [1, 1 + g * g, D]);
    await expectNoLeaks(() => {
      const out = interpolatePositionEmbeddings(pos, h, w);
      expect(out.shape).toEqual([1, 1 + h * w, D]);
      expect(maxAbsDiff(out.dataSync(), hfReference(data, g, D, h, w))).toBeLessThan(1e-6);
      out.dispose();
    }, 'interpolatePositionEmbeddings');
    pos.dispose();
  });

  it('keeps a constant grid constant (the tap weights sum to 1, border clamping included)', () => {
    const g = 5;
    const data = new Float32Array(1 + g * g).fill(0.7);
    data[0] = -3; // CLS passes through untouched
    const pos = tf.tensor3d(data, [1, 1 + g * g, 1]);
    const out = interpolatePositionEmbeddings(pos, 11, 7);
    const v = out.dataSync();
    expect(v[0]).toBe(-3);
    for (let i = 1; i < v.length; i++) expect(v[i]).toBeCloseTo(0.7, 6);
    tf.dispose([pos, out]);
  });

  it('returns an equal copy at the trained resolution and rejects non-square grids', () => {
    const pos = tf.tensor3d(uniform(17 * 2, 5), [1, 17, 2]);
    const same = interpolatePositionEmbeddings(pos, 4, 4);
    expect(Array.from(same.dataSync())).toEqual(Array.from(pos.dataSync()));
    expect(same).not.toBe(pos);
    const bad = tf.zeros([1, 16, 2]);
    expect(() => interpolatePositionEmbeddings(bad, 3, 3)).toThrow(AttentionShapeError);
    expect(() => interpolatePositionEmbeddings(pos, 0, 3)).toThrow(/newHeight/);
    tf.dispose([pos, same, bad]);
  });

  it.skipIf(!haveFixtures('ViT position embeddings'))(
    'resizes the real vit-tiny-random table 4×4 → 8×6',
    async () => {
      const tensors = await loadSafetensors(fixturePath('vit-tiny-random', 'model.safetensors'));
      const cfg = JSON.parse(readFileSync(fixturePath('vit-tiny-random', 'config.json'), 'utf8'));
      const pos = tensors.get('vit.embeddings.position_embeddings')!;
      expect(pos.shape).toEqual([1, 17, cfg.hidden_size]);
      const out = interpolatePositionEmbeddings(pos, 8, 6);
      expect(out.shape).toEqual([1, 49, 32]);
      expect(
        maxAbsDiff(out.dataSync(), hfReference(pos.dataSync() as Float32Array, 4, 32, 8, 6)),
      ).toBeLessThan(1e-6);
      tf.dispose([...tensors.values(), out]);
    },
  );
});
