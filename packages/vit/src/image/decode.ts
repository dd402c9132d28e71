import { node } from '@attn/core-tensor/platform';
import { importSharp } from '../platform/sharp.js';
import { ImageInputError } from './errors.js';
import type { RawImage } from './resample.js';
import { cmykToRgb, toRgb } from './rgb.js';

/** PIL's `Image.MAX_IMAGE_PIXELS` (its decompression-bomb threshold): bigger pictures are refused unread. */
export const DEFAULT_MAX_PIXELS = 89_478_485;

const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif']);

/**
 * Default bound on the memory one decode may take, from the header alone. 512 MiB lets the largest
 * image PIL opens (89,478,485 RGB pixels: 256 MiB decoded, its RGB copy shared) through.
 */
export const DEFAULT_MAX_DECODE_BYTES = 512 * 1024 ** 2;

/** deflate cannot expand data more than 1032:1; a PNG that claims more pixel data than that is a header-only bomb. */
const MAX_DEFLATE_RATIO = 1032;

export interface DecodeOptions {
  /** Refuse images with more pixels than this, from the header alone (default: PIL's 89,478,485). */
  maxPixels?: number;
  /**
   * Refuse images whose decoding would take more bytes than this (default 512 MiB), from the header
   * alone: the decoder's buffer (width × height × channels × bytes per sample), the 8-bit RGB copy, and
   * the resampling weights, which grow with each side (an 89,000,000 × 1 strip needs 2 GB of them).
   */
  maxBytes?: number;
  /**
   * Called with the decode's cost in bytes once the header has passed the checks, before any pixel is
   * decoded; the decode waits for it. `preprocessToArray` uses it to keep the images it decodes ahead of
   * time within one `maxBytes` together.
   */
  reserve?: (bytes: number) => Promise<void>;
}

const SAMPLE_BYTES: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/**
 * Bytes a decode of a width × height picture costs before the processor's output exists: sharp's raw
 * buffer, the RGB copy (none when the decoder already gives 8-bit RGB), and Pillow-style resampling
 * weights — Int32 per tap, 2·support·(side/outSide) taps per output pixel, so 8·support·side bytes a side,
 * support 3 for Lanczos, the widest filter.
 */
export function decodeCostBytes(
  width: number,
  height: number,
  channels: number,
  sampleBytes: number,
): number {
  const pixels = width * height;
  const raw = pixels * channels * sampleBytes;
  const rgb = channels === 3 && sampleBytes === 1 ? 0 : pixels * 3;
  return raw + rgb + 24 * (width + height);
}

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
// Loaded on first use, so browser bundles that never decode files never pull in the native module.
const loadSharp = () => {
  sharpModule ??= importSharp();
  return sharpModule;
};

/**
 * Decodes PNG, JPEG, WebP or GIF (first frame) into 8-bit RGB exactly as Hugging Face's `load_image`
 * sees it: EXIF orientation applied, no ICC colour management (PIL does none), `.convert('RGB')`
 * semantics for every mode — alpha dropped, grey copied, CMYK by PIL's ink formula,
 * 16-bit grey clipped to 255 (PIL's mode "I"), 16-bit colour reduced to its high byte.
 */
export async function decodeImage(input: string | Uint8Array, opts: DecodeOptions = {}): Promise<RawImage> {
  const source = typeof input === 'string' ? input : `<buffer of ${input.byteLength} bytes>`;
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DECODE_BYTES;
  const sharp = await loadSharp();
  const open = () =>
    sharp(input, {
      autoOrient: true,
      ignoreIcc: true,
      failOn: 'truncated',
      limitInputPixels: false,
      pages: 1,
    });

  let meta: Awaited<ReturnType<ReturnType<Sharp>['metadata']>>;
  try {
    meta = await open().metadata(); // header only: nothing is decoded yet
  } catch (e) {
    const msg = (e as Error).message;
    const code = /no such file|ENOENT|missing/i.test(msg) ? 'unreadable' : 'unsupported';
    throw new ImageInputError(code, source, `not a readable image (${msg})`);
  }
  if (!meta.format || !FORMATS.has(meta.format))
    throw new ImageInputError(
      'unsupported',
      source,
      `format "${meta.format}" (supported: png, jpeg, webp, gif)`,
    );
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width < 1 || height < 1) throw new ImageInputError('empty', source, `image is ${width}×${height}`);
  if (width * height > maxPixels)
    throw new ImageInputError(
      'too-large',
      source,
      `${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels} (refused before decoding)`,
    );
  const channels = meta.channels ?? 4;
  const cost = decodeCostBytes(width, height, channels, SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 8);
  if (cost > maxBytes)
    throw new ImageInputError(
      'too-large',
      source,
      `${width}×${height}×${channels} (${meta.depth}) would take ${mib(cost)} to decode and resize, over the limit of ` +
        `${mib(maxBytes)} (refused before decoding; raise it with { maxBytes })`,
    );
  if (meta.format === 'png') {
    // Every PNG row holds a filter byte and at least one bit per pixel; no deflate stream of this file's
    // size can expand to that, so the pixel data the header promises is not there.
    const fileBytes = typeof input === 'string' ? (await node.fsp.stat(input)).size : input.byteLength;
    const minRaw = height * (1 + Math.ceil(width / 8));
    if (minRaw > MAX_DEFLATE_RATIO * fileBytes)
      throw new ImageInputError(
        'corrupt',
        source,
        `the header claims ${width}×${height} pixels (at least ${minRaw} bytes of image data), more than ` +
          `${fileBytes} bytes of PNG can hold (refused before decoding)`,
      );
  }

  await opts.reserve?.(cost);
  try {
    if (meta.space === 'cmyk') {
      const { data, info } = await open().toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      return cmykToRgb({ data, width: info.width, height: info.height, channels: info.channels });
    }
    if (meta.depth === 'ushort' && (meta.channels ?? 0) === 1) {
      // 16-bit grey opens in PIL as mode "I"; convert('RGB') clips each value to 0..255.
      const { data, info } = await open()
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const v = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      const grey = new Uint8Array(info.width * info.height);
      for (let i = 0; i < grey.length; i++) grey[i] = Math.min(v[i * info.channels], 255);
      return toRgb({ data: grey, width: info.width, height: info.height, channels: 1 }, source);
    }
    // Everything else: 8-bit (16-bit colour is reduced to its high byte, as PIL's ";16B" raw modes do).
    const grey = meta.space === 'b-w' || meta.space === 'grey16';
    const pipeline = grey ? open().toColourspace('b-w') : open();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return toRgb({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ...info }, source);
  } catch (e) {
    if (e instanceof ImageInputError) throw e;
    throw new ImageInputError('corrupt', source, `cannot decode (${(e as Error).message})`);
  }
}

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
