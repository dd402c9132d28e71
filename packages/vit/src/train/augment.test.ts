import { describe, expect, it } from 'vitest';
import { type Affine, randomAffine, randomTranslate, warpAffine } from './augment.js';
import { mulberry32 } from './train.js';

// 3 × 3, row-major: 1 2 3 / 4 5 6 / 7 8 9.
const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
const warp = (src: Float32Array, H: number, W: number, t: Partial<Affine>, fill = 0) => {
  const out = new Float32Array(H * W);
  warpAffine(src, H, W, { degrees: 0, scale: 1, dx: 0, dy: 0, ...t }, fill, out);
  return Array.from(out);
};

describe('warpAffine', () => {
  it('rotation 0, scale 1, no shift is the identity', () => {
    expect(warp(img, 3, 3, {})).toEqual(Array.from(img));
  });

  it('turns 90° counter-clockwise (as on screen) exactly', () => {
    expect(warp(img, 3, 3, { degrees: 90 })).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7]);
    expect(warp(img, 3, 3, { degrees: -90 })).toEqual([7, 4, 1, 8, 5, 2, 9, 6, 3]);
    expect(warp(img, 3, 3, { degrees: 180 })).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('shifts right/down by whole pixels, filling the border', () => {
    expect(warp(img, 3, 3, { dx: 1 }, -1)).toEqual([-1, 1, 2, -1, 4, 5, -1, 7, 8]);
    expect(warp(img, 3, 3, { dy: -1 }, -1)).toEqual([4, 5, 6, 7, 8, 9, -1, -1, -1]);
  });

  it('interpolates bilinearly between pixels and the fill', () => {
    // out(x) = src(x − 0.5) on the row 0 2 4, fill 10: (10 + 0)/2, (0 + 2)/2, (2 + 4)/2.
    expect(warp(Float32Array.from([0, 2, 4]), 1, 3, { dx: 0.5 }, 10)).toEqual([5, 1, 3]);
    // Scale 2 about the centre: the corner samples src(0.5, 0.5) = (1 + 2 + 4 + 5)/4.
    expect(warp(img, 3, 3, { scale: 2 })).toEqual([3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
  });
});

describe('random augmentations', () => {
  it('randomAffine with zero ranges changes nothing; otherwise one transform for all channels', () => {
    const batch = Float32Array.from([...img, ...img, ...img, ...img, ...img, ...img]); // 2 images × 3 channels
    randomAffine({ maxDegrees: 0, maxScale: 0, maxShift: 0 }, [0, 0, 0])(batch, [3, 3, 3], 2, mulberry32(1));
    expect(Array.from(batch)).toEqual(Array.from({ length: 6 }, () => Array.from(img)).flat());

    randomAffine({ maxDegrees: 15, maxScale: 0.1, maxShift: 1 }, [0, 0, 0])(
      batch,
      [3, 3, 3],
      2,
      mulberry32(1),
    );
    const plane = (k: number) => Array.from(batch.subarray(k * 9, (k + 1) * 9));
    expect(plane(1)).toEqual(plane(0));
    expect(plane(2)).toEqual(plane(0));
    expect(plane(0)).not.toEqual(Array.from(img));
    expect(plane(3)).not.toEqual(plane(0)); // the second image draws its own transform
  });

  it('randomTranslate moves whole pixels and fills per channel', () => {
    const batch = Float32Array.from(img);
    // mulberry32(3)'s first draws pick the shift; compare with warpAffine's whole-pixel shift of the same size.
    const r = mulberry32(3);
    const dy = Math.floor(r() * 3) - 1;
    const dx = Math.floor(r() * 3) - 1;
    randomTranslate(1, [-1])(batch, [1, 3, 3], 1, mulberry32(3));
    expect(Array.from(batch)).toEqual(warp(img, 3, 3, { dx, dy }, -1));
  });
});
