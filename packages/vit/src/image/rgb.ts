import { ImageInputError } from './errors.js';
import type { RawImage } from './resample.js';

/**
 * PIL's `.convert('RGB')` for the channel layouts a decoder hands us, which is what Hugging Face's
 * `load_image` does: grey is copied into R, G and B; alpha is dropped WITHOUT compositing over a background.
 */
export function toRgb(img: RawImage, source: string): RawImage {
  const { width, height, channels, data } = img;
  if (channels === 3) return img;
  if (channels < 1 || channels > 4) throw new ImageInputError('unsupported', source, `${channels} channels`);
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const grey = channels <= 2;
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    out[i * 3] = data[s];
    out[i * 3 + 1] = grey ? data[s] : data[s + 1];
    out[i * 3 + 2] = grey ? data[s] : data[s + 2];
  }
  return { data: out, width, height, channels: 3 };
}

/** PIL's CMYK → RGB (`cmyk2rgb` in Convert.c): no colour management, plain ink arithmetic. */
export function cmykToRgb(img: RawImage): RawImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const muldiv255 = (a: number, b: number) => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0; i < n; i++) {
    const nk = 255 - img.data[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = nk - muldiv255(img.data[i * 4 + c], nk);
      out[i * 3 + c] = Math.min(255, Math.max(0, v));
    }
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/** Anything shaped like a browser `ImageData`: RGBA bytes, row-major. */
export interface RgbaLike {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

export function isRgbaLike(x: unknown): x is RgbaLike {
  const o = x as RgbaLike;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.width === 'number' &&
    typeof o.height === 'number' &&
    (o.data instanceof Uint8Array || o.data instanceof Uint8ClampedArray)
  );
}

/** ImageData-like RGBA (or RGB, inferred from the length) → RGB, alpha dropped like PIL. */
export function rgbaLikeToRgb(x: RgbaLike, source = '<ImageData>'): RawImage {
  const { width, height } = x;
  if (!(width > 0 && height > 0)) throw new ImageInputError('empty', source, `image is ${width}×${height}`);
  const channels = x.data.length / (width * height);
  if (!Number.isInteger(channels) || channels < 1 || channels > 4)
    throw new ImageInputError(
      'corrupt',
      source,
      `${x.data.length} bytes do not fit ${width}×${height} pixels`,
    );
  const data =
    x.data instanceof Uint8Array ? x.data : new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.length);
  return toRgb({ data, width, height, channels }, source);
}
