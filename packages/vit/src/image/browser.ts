import { ImageInputError } from './errors.js';
import type { RgbaLike } from './rgb.js';

/** Browser image sources whose pixels can be read through a 2D canvas. */
export type CanvasImageLike = ImageBitmap | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement;

export function isCanvasImageLike(x: unknown): x is CanvasImageLike {
  const has = (name: string) => typeof (globalThis as Record<string, unknown>)[name] === 'function';
  return (
    (has('ImageBitmap') && x instanceof ImageBitmap) ||
    (has('HTMLCanvasElement') && x instanceof HTMLCanvasElement) ||
    (has('OffscreenCanvas') && x instanceof OffscreenCanvas) ||
    (has('HTMLImageElement') && x instanceof HTMLImageElement)
  );
}

/**
 * Reads the RGBA pixels of an ImageBitmap / canvas / <img> through an OffscreenCanvas.
 * (A canvas stores premultiplied alpha, so the colour of fully transparent pixels is lost; opaque
 * pixels are exact.)
 */
export function canvasImageToRgba(x: CanvasImageLike): RgbaLike {
  const width = 'naturalWidth' in x ? x.naturalWidth : x.width;
  const height = 'naturalHeight' in x ? x.naturalHeight : x.height;
  if (!(width > 0 && height > 0))
    throw new ImageInputError('empty', '<canvas image>', `image is ${width}×${height}`);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new ImageInputError('unreadable', '<canvas image>', 'no 2d canvas context');
  ctx.drawImage(x, 0, 0);
  return ctx.getImageData(0, 0, width, height);
}

const isPage = typeof process === 'undefined' || !process.versions?.node;

export function isBlob(x: unknown): x is Blob {
  return typeof Blob === 'function' && x instanceof Blob;
}

/**
 * Decodes an encoded image (Blob/File, or bytes in a page) with the browser's own decoder, as it is stored:
 * no colour-space conversion, EXIF orientation applied (HF's exif_transpose). Only decoding happens here;
 * resizing stays in our Pillow-exact code, so opaque images give Node's pixel values exactly.
 */
export async function decodeInPage(blob: Blob, source: string, maxPixels: number): Promise<RgbaLike> {
  if (typeof createImageBitmap !== 'function')
    throw new ImageInputError(
      'unsupported',
      source,
      'decoding a Blob needs createImageBitmap (a browser or a worker)',
    );
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
    });
  } catch (e) {
    throw new ImageInputError(
      'corrupt',
      source,
      `not an image the browser can decode (${blob.type || 'no type'}, ${blob.size} bytes: ${(e as Error).message})`,
    );
  }
  try {
    if (bitmap.width * bitmap.height > maxPixels)
      throw new ImageInputError(
        'too-large',
        source,
        `${bitmap.width}×${bitmap.height} = ${bitmap.width * bitmap.height} pixels exceeds the limit of ${maxPixels}`,
      );
    return canvasImageToRgba(bitmap);
  } finally {
    bitmap.close();
  }
}

/** In a page an image path is a URL (relative to the page or absolute): fetched, then decoded as a Blob. */
export async function fetchImageInPage(url: string, maxPixels: number): Promise<RgbaLike> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ImageInputError('unreadable', url, `request failed (${(e as Error).message})`);
  }
  if (!res.ok) throw new ImageInputError('unreadable', url, `HTTP ${res.status} ${res.statusText}`.trim());
  return decodeInPage(await res.blob(), url, maxPixels);
}

export { isPage };
