/**
 * Pillow's `Image.resize` (Pillow 9.4, `reducing_gap=None`) on 8-bit images, in plain JS so Node and the
 * browser produce the same numbers as Hugging Face's Python image processors.
 *
 * Pillow resamples separably (horizontal pass, then vertical) with a filter whose support is widened by
 * the scale when it shrinks (so downscaling is antialiased), and accumulates in 22-bit fixed point.
 * NEAREST goes through Pillow's affine path instead. Every rounding below is Pillow's.
 */

/** Pillow's resample constants, as stored in `preprocessor_config.json` (`"resample": 2` = BILINEAR). */
export const PilResample = { NEAREST: 0, LANCZOS: 1, BILINEAR: 2, BICUBIC: 3, BOX: 4, HAMMING: 5 } as const;
export type PilResampleId = (typeof PilResample)[keyof typeof PilResample];

/** Interleaved 8-bit pixels, row-major: `data[(y * width + x) * channels + c]`. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

interface Filter {
  fn: (x: number) => number;
  support: number;
}

const sinc = (x: number) => {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
};

// Pillow writes 0.54f + 0.46f: float constants widened to double.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Record<number, Filter> = {
  [PilResample.BOX]: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  [PilResample.BILINEAR]: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  [PilResample.HAMMING]: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
  },
  [PilResample.BICUBIC]: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  [PilResample.LANCZOS]: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output pixel: first input index, tap count, and integer weights (Pillow's `precompute_coeffs`). */
interface Coeffs {
  bounds: Int32Array; // [outSize * 2]: xmin, count
  kk: Int32Array; // [outSize * ksize]
  ksize: number;
}

function precomputeCoeffs(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.fn((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x] / ww : w[x];
      // normalize_coeffs_8bpc: round half away from zero into fixed point.
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

// Pillow's clip8: `ss >> PRECISION_BITS` on its int32 accumulator, clamped. The sums stay in int32 as Pillow's
// do (8-bit values times weights that sum to ONE), so the passes add with int32 arithmetic (imul, |0).
const clip8 = (ss: number) => {
  return Math.min(255, Math.max(0, ss >> PRECISION_BITS));
};

/** Horizontal pass over rows [rowOffset, rowOffset + outHeight). */
function resampleHorizontal(
  src: RawImage,
  outWidth: number,
  rowOffset: number,
  outHeight: number,
  c: Coeffs,
): RawImage {
  const ch = src.channels;
  const out = new Uint8Array(outWidth * outHeight * ch);
  const { bounds, kk, ksize } = c;
  const data = src.data;
  for (let yy = 0; yy < outHeight; yy++) {
    const rowIn = (yy + rowOffset) * src.width * ch;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2]!;
      const n = bounds[xx * 2 + 1]!;
      const k0 = xx * ksize;
      const at = rowIn + xmin * ch;
      for (let b = 0; b < ch; b++) {
        let ss = HALF;
        for (let x = 0; x < n; x++) ss = (ss + Math.imul(data[at + x * ch + b]!, kk[k0 + x]!)) | 0;
        out[(yy * outWidth + xx) * ch + b] = clip8(ss);
      }
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: ch };
}

function resampleVertical(src: RawImage, outHeight: number, c: Coeffs): RawImage {
  const ch = src.channels;
  const w = src.width;
  const out = new Uint8Array(w * outHeight * ch);
  const { bounds, kk, ksize } = c;
  const data = src.data;
  const row = w * ch;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2]!;
    const n = bounds[yy * 2 + 1]!;
    const k0 = yy * ksize;
    const at = ymin * row;
    for (let i = 0; i < row; i++) {
      let ss = HALF;
      for (let y = 0; y < n; y++) ss = (ss + Math.imul(data[at + y * row + i]!, kk[k0 + y]!)) | 0;
      out[yy * row + i] = clip8(ss);
    }
  }
  return { data: out, width: w, height: outHeight, channels: ch };
}

/** Pillow's NEAREST resize (the affine "scale" path: sample at floor((x + 0.5) · in/out)). */
function resizeNearest(src: RawImage, width: number, height: number): RawImage {
  const ch = src.channels;
  const out = new Uint8Array(width * height * ch);
  const xin = new Int32Array(width);
  const a0 = src.width / width;
  const a4 = src.height / height;
  // Pillow accumulates the coordinate by repeated addition; doing the same keeps boundary cases identical.
  let xo = a0 * 0.5;
  for (let x = 0; x < width; x++, xo += a0) xin[x] = Math.min(Math.trunc(xo), src.width - 1);
  let yo = a4 * 0.5;
  for (let y = 0; y < height; y++, yo += a4) {
    const yi = Math.min(Math.trunc(yo), src.height - 1);
    for (let x = 0; x < width; x++)
      for (let b = 0; b < ch; b++)
        out[(y * width + x) * ch + b] = src.data[(yi * src.width + xin[x]) * ch + b];
  }
  return { data: out, width, height, channels: ch };
}

/** `PIL.Image.resize((width, height), resample, reducing_gap=None)` for 8-bit images without premultiplied alpha. */
export function pilResize(src: RawImage, width: number, height: number, resample: number): RawImage {
  if (width === src.width && height === src.height) return { ...src, data: src.data.slice() };
  if (resample === PilResample.NEAREST) return resizeNearest(src, width, height);
  const filter = FILTERS[resample];
  if (!filter) throw new RangeError(`unsupported resample filter ${resample} (Pillow ids 0-5)`);
  const needH = width !== src.width;
  const needV = height !== src.height;
  const vert = precomputeCoeffs(src.height, height, filter);
  let img = src;
  if (needH) {
    // Only the input rows the vertical pass reads are resampled horizontally.
    const first = vert.bounds[0];
    const last = vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1];
    for (let i = 0; i < height; i++) vert.bounds[i * 2] -= first;
    img = resampleHorizontal(src, width, first, last - first, precomputeCoeffs(src.width, width, filter));
  }
  return needV ? resampleVertical(img, height, vert) : img;
}
