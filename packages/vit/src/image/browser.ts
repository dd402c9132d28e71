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
