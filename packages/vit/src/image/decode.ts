import { ImageInputError } from './errors.js';
import type { RawImage } from './resample.js';
import { cmykToRgb, toRgb } from './rgb.js';

/** PIL's `Image.MAX_IMAGE_PIXELS` (its decompression-bomb threshold): bigger pictures are refused unread. */
export const DEFAULT_MAX_PIXELS = 89_478_485;

const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif']);

export interface DecodeOptions {
  /** Refuse images with more pixels than this, from the header alone (default: PIL's 89,478,485). */
  maxPixels?: number;
}

type Sharp = typeof import('sharp').default;
let sharpModule: Promise<Sharp> | undefined;
// Loaded on first use, so browser bundles that never decode files never pull in the native module.
const loadSharp = () => {
  sharpModule ??= import('sharp').then((m) => m.default);
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
