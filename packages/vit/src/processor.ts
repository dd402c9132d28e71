import {
  atomicWriteFile,
  ConfigError,
  describeConfigValue,
  type FieldSpec,
  type HubOptions,
  isModelUrl,
  parseFields,
  readModelText,
  resolvePretrainedDir,
  tf,
} from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';
import {
  type CanvasImageLike,
  canvasImageToRgba,
  decodeInPage,
  fetchImageInPage,
  isBlob,
  isCanvasImageLike,
  isPage,
} from './image/browser.js';
import {
  DEFAULT_MAX_DECODE_BYTES,
  DEFAULT_MAX_PIXELS,
  type DecodeOptions,
  decodeImage,
} from './image/decode.js';
import { ImageInputError } from './image/errors.js';
import { PilResample, pilResize, type RawImage } from './image/resample.js';
import { isRgbaLike, type RgbaLike, rgbaLikeToRgb } from './image/rgb.js';

/** `preprocessor_config.json` of a Hugging Face `ViTImageProcessor` (unknown fields are kept on save). */
export interface ImageProcessorConfig {
  do_resize: boolean;
  size: { height: number; width: number };
  resample: number;
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: number[];
  image_std: number[];
  [extra: string]: unknown;
}

/**
 * One picture: a file path or encoded bytes (PNG/JPEG/WebP/GIF, decoded with sharp in Node), or
 * already-decoded pixels — an ImageData-like `{ data, width, height }` (RGBA or RGB bytes), an
 * ImageBitmap, a canvas or an <img> (browser).
 */
/** A path (a URL in a page), encoded bytes, a Blob/File, decoded pixels (ImageData) or a canvas-drawable image. */
export type ImageInput = string | Uint8Array | Blob | RgbaLike | CanvasImageLike;

/** A preprocessor_config.json that cannot drive the processor; names the file and the field (a ConfigError). */
export class ImageProcessorConfigError extends ConfigError {
  override readonly name: string = 'ImageProcessorConfigError';
}

/** Past this side the output alone is 3·4096²·4 = 201 MB per image: a config mistake, not a model input. */
export const MAX_IMAGE_SIDE = 4096;
/** A smaller std turns ordinary pixels into ±1e6 and beyond: garbage scores instead of an error. */
const MIN_STD = 1e-6;

const PROCESSOR_FIELDS: Record<string, FieldSpec> = {
  do_resize: { type: 'boolean', default: true },
  resample: { type: 'int', default: PilResample.BILINEAR, min: 0, max: 5 },
  do_rescale: { type: 'boolean', default: true },
  rescale_factor: { type: 'number', default: 1 / 255, above: 0, max: 1e6 },
  do_normalize: { type: 'boolean', default: true },
};

const DEFAULTS: ImageProcessorConfig = {
  image_processor_type: 'ViTImageProcessor',
  do_resize: true,
  size: { height: 224, width: 224 },
  resample: PilResample.BILINEAR,
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
};

/**
 * Hugging Face's `ViTImageProcessor` with identical numbers: decode → RGB → Pillow resize on uint8 →
 * `x * rescale_factor` in float64 rounded to float32 → `(x - mean) / std` in float32 → CHW.
 */
export class ViTImageProcessor {
  readonly config: ImageProcessorConfig;

  constructor(
    // HF also writes a bare number for size, image_mean and image_std; they are widened on construction.
    config: Partial<Omit<ImageProcessorConfig, 'size' | 'image_mean' | 'image_std'>> & {
      size?: unknown;
      image_mean?: number | number[];
      image_std?: number | number[];
    } = {},
    source = 'preprocessor config',
  ) {
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      throw new ImageProcessorConfigError(
        source,
        '(root)',
        `the preprocessor config must be a JSON object, got ${describeConfigValue(config)}`,
      );
    const size = normaliseSize(config.size ?? DEFAULTS.size, source);
    const checked = parseFields(PROCESSOR_FIELDS, config, source, ImageProcessorConfigError);
    const image_mean = channelValues(config.image_mean ?? DEFAULTS.image_mean, 'image_mean', source);
    const image_std = channelValues(config.image_std ?? DEFAULTS.image_std, 'image_std', source);
    const tiny = image_std.findIndex((s) => !(s > MIN_STD));
    if (tiny >= 0)
      throw new ImageProcessorConfigError(
        source,
        'image_std',
        `[${tiny}] is ${image_std[tiny]}, must be > ${MIN_STD}`,
      );
    this.config = { ...DEFAULTS, ...config, ...checked, size, image_mean, image_std } as ImageProcessorConfig;
  }

  /**
   * Reads `preprocessor_config.json` from a model folder, a hub id or a folder URL (in a page also relative to
   * it); in a page the file is fetched and kept in the Cache API.
   */
  static async fromPretrained(dirOrId: string, opts: HubOptions = {}): Promise<ViTImageProcessor> {
    const dir = await resolvePretrainedDir(dirOrId, opts);
    const where = isModelUrl(dir)
      ? `${dir}/preprocessor_config.json`
      : node.path.join(dir, 'preprocessor_config.json');
    const text = await readModelText(dir, 'preprocessor_config.json', opts);
    if (text === undefined) throw new ImageProcessorConfigError(where, '(file)', 'is missing');
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ImageProcessorConfigError(where, '(file)', `is not JSON (${(e as Error).message})`);
    }
    return new ViTImageProcessor(json as Partial<ImageProcessorConfig>, where);
  }

  /** Writes `preprocessor_config.json` (atomically) into `dir`. */
  async save(dir: string): Promise<void> {
    const { mkdir } = node.fsp;
    const { join } = node.path;
    await mkdir(dir, { recursive: true });
    await atomicWriteFile(join(dir, 'preprocessor_config.json'), `${JSON.stringify(this.config, null, 2)}\n`);
  }

  get height(): number {
    return this.config.do_resize ? this.config.size.height : Number.NaN;
  }
  get width(): number {
    return this.config.do_resize ? this.config.size.width : Number.NaN;
  }

  /** Decodes one input into 8-bit RGB (what `load_image` gives Python). */
  async loadRgb(image: ImageInput, opts: DecodeOptions = {}): Promise<RawImage> {
    // In a page the browser decodes (sharp is Node's); the pixels then take the same path as in Node.
    const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    if (typeof image === 'string')
      return isPage
        ? rgbaLikeToRgb(await fetchImageInPage(image, maxPixels), image)
        : decodeImage(image, opts);
    if (isRgbaLike(image)) return rgbaLikeToRgb(image);
    if (image instanceof Uint8Array)
      return isPage
        ? rgbaLikeToRgb(
            await decodeInPage(new Blob([image as Uint8Array<ArrayBuffer>]), '<bytes>', maxPixels),
            '<bytes>',
          )
        : decodeImage(image, opts);
    if (isBlob(image)) {
      const source = (image as File).name || `<${image.type || 'blob'}>`;
      return rgbaLikeToRgb(await decodeInPage(image, source, maxPixels), source);
    }
    if (isCanvasImageLike(image)) return rgbaLikeToRgb(canvasImageToRgba(image), '<canvas image>');
    throw new ImageInputError(
      'unsupported',
      String(image),
      'not a path, encoded bytes, Blob/File, ImageData, ImageBitmap, canvas or <img>',
    );
  }

  /** Resize, rescale, normalise one decoded RGB image into `out` (CHW) — synchronous and tensor-free. */
  processRgb(rgb: RawImage, out?: Float32Array): { data: Float32Array; height: number; width: number } {
    const c = this.config;
    const img = c.do_resize ? pilResize(rgb, c.size.width, c.size.height, c.resample) : rgb;
    const { width, height } = img;
    const plane = width * height;
    const data = out ?? new Float32Array(3 * plane);
    const src = img.data;
    const { do_rescale: rescale, do_normalize: normalize, rescale_factor: factor } = c;
    // The input is 8-bit, so each channel's float32 result is a table of 256 values: the same operations, in
    // the same order, per value, computed once per image instead of once per pixel.
    const table = new Float32Array(3 * 256);
    for (let ch = 0; ch < 3; ch++) {
      const mean = Math.fround(c.image_mean[ch]!);
      const std = Math.fround(c.image_std[ch]!);
      for (let u = 0; u < 256; u++) {
        // float64 product rounded to float32 (numpy's astype), then float32 (x - mean) / std.
        let v = rescale ? Math.fround(u * factor) : u;
        if (normalize) v = Math.fround(Math.fround(v - mean) / std);
        table[ch * 256 + u] = v;
      }
    }
    for (let i = 0, j = 0; i < plane; i++, j += 3) {
      data[i] = table[src[j]!]!;
      data[plane + i] = table[256 + src[j + 1]!]!;
      data[2 * plane + i] = table[512 + src[j + 2]!]!;
    }
    return { data, height, width };
  }

  /** The tensor-free path (workers, browser): `[N, 3, H, W]` float32 values and the shape. */
  async preprocessToArray(
    images: ImageInput | ImageInput[],
    opts: DecodeOptions = {},
  ): Promise<{ data: Float32Array; shape: [number, number, number, number] }> {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new ImageInputError('empty', '<image list>', 'no images given');
    // Decoding runs in sharp's threads (Node) or the browser's decoder: a few images at once keep them busy,
    // also while onnxruntime-node, which runs on this thread, computes the previous batch (the streams). At
    // most DECODE_AHEAD images are decoded and held at once, and in Node only while their decode costs
    // (from each header) fit in one maxBytes together: a batch of large pictures decodes one at a time.
    const budget = opts.maxBytes ?? DEFAULT_MAX_DECODE_BYTES;
    const costs: number[] = [];
    let held = 0;
    let waiting: (() => void)[] = [];
    // Bytes are granted in input order (an image waits for the one before it), so the images holding the
    // budget are always earlier ones, which the loop below finishes and releases: no image waits on a later one.
    const granted: Promise<void>[] = [];
    const grant: (() => void)[] = [];
    const reserve = (n: number) => async (bytes: number) => {
      if (n > 0) await granted[n - 1];
      while (held > 0 && held + bytes > budget) await new Promise<void>((r) => waiting.push(r));
      held += bytes;
      costs[n] = bytes;
      grant[n]!();
    };
    const done = (n: number) => {
      held -= costs[n] ?? 0;
      const wake = waiting;
      waiting = [];
      for (const r of wake) r();
    };
    const decoded: Promise<RawImage>[] = [];
    const decode = (n: number) => {
      if (n >= list.length) return;
      granted[n] = new Promise<void>((r) => {
        grant[n] = r;
      });
      decoded[n] = this.loadRgb(list[n], { ...opts, reserve: reserve(n) });
      // An input decoded without a reservation (pixels given, the browser's decoder), or a failure, passes
      // the turn on. Awaited in order below; a later failure must not count as unhandled meanwhile.
      decoded[n].then(grant[n], grant[n]);
    };
    for (let n = 0; n < DECODE_AHEAD; n++) decode(n);
    const first = this.processRgb(await decoded[0]!);
    done(0);
    const { height, width } = first;
    const per = 3 * height * width;
    const data = new Float32Array(list.length * per);
    data.set(first.data);
    for (let n = 1; n < list.length; n++) {
      decode(n + DECODE_AHEAD - 1);
      const rgb = await decoded[n]!;
      delete decoded[n];
      if (!this.config.do_resize && (rgb.width !== width || rgb.height !== height))
        throw new ImageInputError(
          'unsupported',
          describe(list[n]),
          'images of different sizes need do_resize',
        );
      this.processRgb(rgb, data.subarray(n * per, (n + 1) * per));
      done(n);
    }
    return { data, shape: [list.length, 3, height, width] };
  }

  /** `{ pixelValues: [N, 3, H, W] float32 }`, as `processor(images, return_tensors='pt')`. */
  async preprocess(
    images: ImageInput | ImageInput[],
    opts: DecodeOptions = {},
  ): Promise<{ pixelValues: tf.Tensor4D }> {
    const { data, shape } = await this.preprocessToArray(images, opts);
    return { pixelValues: tf.tensor4d(data, shape, 'float32') };
  }
}

/** Images decoded ahead of the one being resized: sharp's (libuv's) four threads. */
const DECODE_AHEAD = 4;

function describe(x: ImageInput): string {
  return typeof x === 'string' ? x : '<image>';
}

/** One value per RGB channel; HF also accepts a single number for all three. */
function channelValues(v: unknown, field: string, source: string): number[] {
  const list = typeof v === 'number' ? [v, v, v] : v;
  if (
    !Array.isArray(list) ||
    list.length !== 3 ||
    !list.every((x) => typeof x === 'number' && Number.isFinite(x))
  )
    throw new ImageProcessorConfigError(
      source,
      field,
      `must be 3 finite numbers (R, G, B), got ${Array.isArray(list) ? JSON.stringify(list).slice(0, 60) : describeConfigValue(list)}`,
    );
  return list;
}

function normaliseSize(size: unknown, source: string): { height: number; width: number } {
  // Old configs store a single int, or {shortest_edge}; ViT resizes to a square in both cases.
  const s = size as { height?: unknown; width?: unknown; shortest_edge?: unknown };
  const [height, width] =
    typeof size === 'number'
      ? [size, size]
      : s?.height !== undefined || s?.width !== undefined
        ? [s.height, s.width]
        : s?.shortest_edge !== undefined
          ? [s.shortest_edge, s.shortest_edge]
          : [undefined, undefined];
  const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_IMAGE_SIDE;
  if (!ok(height) || !ok(width))
    throw new ImageProcessorConfigError(
      source,
      'size',
      `must be {height, width} or a number, integers in [1, ${MAX_IMAGE_SIDE}], got ${JSON.stringify(size)?.slice(0, 80)}`,
    );
  return { height: height as number, width: width as number };
}
