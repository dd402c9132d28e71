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

/** A rotation (degrees, counter-clockwise as seen on screen) and scale about the image centre, then a shift in pixels. */
export interface Affine {
  degrees: number;
  scale: number;
  dx: number;
  dy: number;
}

/**
 * Warps one [H, W] plane: out(p) = src(A⁻¹(p)), bilinear, `fill` outside the source. Rotation 0, scale 1 and
 * a whole-pixel shift reproduce randomTranslate exactly; a 90° turn of a square image is an exact transpose+flip.
 */
export function warpAffine(
  src: Float32Array,
  H: number,
  W: number,
  t: Affine,
  fill: number,
  out: Float32Array,
): void {
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  const a = (t.degrees * Math.PI) / 180;
  // Inverse map: undo the shift, then rotate by −a and divide by the scale. y points down on screen, so a
  // counter-clockwise turn on screen is a clockwise one in (x, y) coordinates.
  const cos = Math.cos(a) / t.scale;
  const sin = Math.sin(a) / t.scale;
  const at = (y: number, x: number) => (y >= 0 && y < H && x >= 0 && x < W ? src[y * W + x] : fill);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const u = x - cx - t.dx;
      const v = y - cy - t.dy;
      // Rounding to 1e-9 keeps exact grid hits exact (cos 90° is 6e-17, not 0).
      const sx = Math.round((cos * u - sin * v + cx) * 1e9) / 1e9;
      const sy = Math.round((sin * u + cos * v + cy) * 1e9) / 1e9;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const top = at(y0, x0) + fx * (at(y0, x0 + 1) - at(y0, x0));
      const bottom = at(y0 + 1, x0) + fx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0));
      out[y * W + x] = top + fy * (bottom - top);
    }
}

/**
 * Random rotation in ±maxDegrees, scale in [1 − maxScale, 1 + maxScale] and shift in ±maxShift pixels (all
 * uniform, sub-pixel), one draw per image applied to all its channels, bilinear; `fill[c]` is the background.
 */
export function randomAffine(
  opts: { maxDegrees: number; maxScale: number; maxShift: number },
  fill: number[],
): AugmentFn {
  return (pixels, [C, H, W], n, random) => {
    const plane = new Float32Array(H * W);
    const uniform = (r: number) => (2 * random() - 1) * r;
    for (let i = 0; i < n; i++) {
      const t: Affine = {
        degrees: uniform(opts.maxDegrees),
        scale: 1 + uniform(opts.maxScale),
        dx: uniform(opts.maxShift),
        dy: uniform(opts.maxShift),
      };
      for (let c = 0; c < C; c++) {
        const img = pixels.subarray((i * C + c) * H * W, (i * C + c + 1) * H * W);
        plane.set(img);
        warpAffine(plane, H, W, t, fill[c], img);
      }
    }
  };
}
