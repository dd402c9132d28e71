import { atomicWriteFile } from '@attn/core-tensor';
import { decodeImage } from '../image/decode.js';
import { PilResample, pilResize, type RawImage } from '../image/resample.js';
import { isRgbaLike, type RgbaLike, rgbaLikeToRgb } from '../image/rgb.js';
import { importSharp } from '../platform/sharp.js';
import type { PatchMap } from './rollout.js';

export interface HeatmapOptions {
  /** Output width in pixels; the height follows the image's aspect ratio. Default: max(image width, 224). */
  width?: number;
  /** Opacity of the heat colours over the image, 0..1. Default 0.55. */
  alpha?: number;
}

/** A perceptually ordered dark-blue → red → yellow ramp (stops of the "inferno"-like scale). */
const STOPS: [number, number, number][] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

/** The overlay's colour for v in [0, 1] (clamped), as float RGB 0..255: exported so a colour bar can match it. */
export function heatmapColour(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Bilinear sample of the patch grid at pixel centres (half-pixel aligned), values scaled to 0..1 by the max. */
function upsample(map: PatchMap, width: number, height: number): Float32Array {
  const max = Math.max(...map.values) || 1;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = Math.min(Math.max(((y + 0.5) / height) * map.height - 0.5, 0), map.height - 1);
    const y0 = Math.floor(gy);
    const y1 = Math.min(y0 + 1, map.height - 1);
    for (let x = 0; x < width; x++) {
      const gx = Math.min(Math.max(((x + 0.5) / width) * map.width - 0.5, 0), map.width - 1);
      const x0 = Math.floor(gx);
      const x1 = Math.min(x0 + 1, map.width - 1);
      const v = (r: number, c: number) => map.values[r * map.width + c];
      const top = v(y0, x0) + (gx - x0) * (v(y0, x1) - v(y0, x0));
      const bottom = v(y1, x0) + (gx - x0) * (v(y1, x1) - v(y1, x0));
      out[y * width + x] = (top + (gy - y0) * (bottom - top)) / max;
    }
  }
  return out;
}

/** Blends the map over the picture: RGB bytes of the overlay, `width` × `height`. */
export function heatmapOverlay(image: RawImage, map: PatchMap, opts: HeatmapOptions = {}): RawImage {
  const width = opts.width ?? Math.max(image.width, 224);
  const height = Math.max(1, Math.round((image.height * width) / image.width));
  const alpha = opts.alpha ?? 0.55;
  const base = pilResize(image, width, height, PilResample.BICUBIC);
  const heat = upsample(map, width, height);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const c = heatmapColour(heat[i]);
    for (let k = 0; k < 3; k++)
      data[i * 3 + k] = Math.round((1 - alpha) * base.data[i * 3 + k] + alpha * c[k]);
  }
  return { data, width, height, channels: 3 };
}

/** Writes the attention map over the image as a PNG (atomically). `image`: a path, encoded bytes, RGB/RGBA pixels. */
export async function renderAttentionHeatmap(
  image: string | Uint8Array | RgbaLike | RawImage,
  map: PatchMap,
  outPath: string,
  opts: HeatmapOptions = {},
): Promise<void> {
  const rgb =
    typeof image === 'string' || image instanceof Uint8Array
      ? await decodeImage(image)
      : 'channels' in image && image.channels === 3
        ? image
        : isRgbaLike(image)
          ? rgbaLikeToRgb(image)
          : (image as RawImage);
  const overlay = heatmapOverlay(rgb, map, opts);
  const sharp = await importSharp();
  const png = await sharp(overlay.data, {
    raw: { width: overlay.width, height: overlay.height, channels: 3 },
  })
    .png()
    .toBuffer();
  await atomicWriteFile(outPath, png);
}
