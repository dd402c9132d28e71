import type { AugmentFn } from './train.js';

/**
 * Shifts every image of the batch by a random whole number of pixels in [-maxShift, maxShift] on each axis,
 * filling the uncovered border with `fill[c]` (per channel: the normalised background value).
 */
export function randomTranslate(maxShift: number, fill: number[]): AugmentFn {
  return (pixels, [C, H, W], n, random) => {
    const plane = new Float32Array(H * W);
    for (let i = 0; i < n; i++) {
      const dy = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
      const dx = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
      if (dx === 0 && dy === 0) continue;
      for (let c = 0; c < C; c++) {
        const off = (i * C + c) * H * W;
        plane.set(pixels.subarray(off, off + H * W));
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const sy = y - dy;
            const sx = x - dx;
            pixels[off + y * W + x] = sy >= 0 && sy < H && sx >= 0 && sx < W ? plane[sy * W + sx] : fill[c];
          }
      }
    }
  };
}
