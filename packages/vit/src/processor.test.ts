import { readFileSync } from 'node:fs';
import { ConfigError, initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from './image/decode.js';
import { ImageProcessorConfigError, ViTImageProcessor } from './processor.js';

const IMAGES = [
  'gradient_40x30',
  'checkerboard_64x64',
  'solid_17x23',
  'rgba_24x20',
  'grayscale_33x33',
  'noise_300x250',
];
const readJson = (...p: string[]) => JSON.parse(readFileSync(fixturePath(...p), 'utf8'));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  const f = Float32Array.from(b); // goldens are float32 written as shortest decimals
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - f[i]));
  return m;
}

describe.skipIf(!haveFixtures('ViT pixel goldens'))('ViTImageProcessor vs Hugging Face pixel_values', () => {
  beforeAll(() => initBackend('cpu'));
  it('vit-tiny-random (32 px, mean=std=0.5): every golden image exactly', async () => {
    const proc = await ViTImageProcessor.fromPretrained(fixturePath('vit-tiny-random'));
    const gold = readJson('golden', 'vit-tiny-random.json');
    for (const name of IMAGES) {
      const g = gold.images.find((c: { image: string }) => c.image === `images/${name}.png`);
      const { data, shape } = await proc.preprocessToArray(fixturePath('golden', 'images', `${name}.png`));
      expect(shape).toEqual([1, 3, 32, 32]);
      expect(maxAbsDiff(data, g.pixel_values.flat(3)), name).toBe(0);
    }
  });

  it('vit-tiny-random-224 (ImageNet mean/std, side files): every golden image exactly', async () => {
    const proc = await ViTImageProcessor.fromPretrained(fixturePath('vit-tiny-random-224'));
    for (const name of IMAGES) {
      const g = readJson('golden', `vit-tiny-random-224-pixels-${name}.json`);
      const { data, shape } = await proc.preprocessToArray(fixturePath('golden', 'images', `${name}.png`));
      expect(shape).toEqual([1, 3, 224, 224]);
      expect(maxAbsDiff(data, g.pixel_values.flat(3)), name).toBe(0);
    }
  });

  it('a batch decodes ahead yet keeps input order; a bad file in it is the one named', async () => {
    const proc = await ViTImageProcessor.fromPretrained(fixturePath('vit-tiny-random'));
    const gold = readJson('golden', 'vit-tiny-random.json');
    // Twelve images, more than the four decoded ahead, the sizes differing so that decodes finish out of order.
    const names = [...IMAGES, ...[...IMAGES].reverse()];
    const { data, shape } = await proc.preprocessToArray(
      names.map((n) => fixturePath('golden', 'images', `${n}.png`)),
    );
    expect(shape).toEqual([12, 3, 32, 32]);
    const per = 3 * 32 * 32;
    names.forEach((name, i) => {
      const g = gold.images.find((c: { image: string }) => c.image === `images/${name}.png`);
      expect(maxAbsDiff(data.subarray(i * per, (i + 1) * per), g.pixel_values.flat(3)), name).toBe(0);
    });
    // A budget that one picture fills (noise_300x250 costs 238,200 bytes to decode): they go one at a time,
    // in order, and pixels given directly in the middle (no decode, no reservation) pass the turn on.
    const pixelsGiven = await decodeImage(fixturePath('golden', 'images', 'checkerboard_64x64.png'));
    const mixed: (string | typeof pixelsGiven)[] = names
      .slice(0, 6)
      .map((n) => fixturePath('golden', 'images', `${n}.png`));
    mixed.splice(2, 0, pixelsGiven);
    const tight = await proc.preprocessToArray(mixed, { maxBytes: 240_000 });
    const order = [...names.slice(0, 2), 'checkerboard_64x64', ...names.slice(2, 6)];
    order.forEach((name, i) => {
      const g = gold.images.find((c: { image: string }) => c.image === `images/${name}.png`);
      expect(maxAbsDiff(tight.data.subarray(i * per, (i + 1) * per), g.pixel_values.flat(3)), name).toBe(0);
    });
    const files = names.map((n) => fixturePath('golden', 'images', `${n}.png`));
    files.splice(5, 0, fixturePath('golden', 'images', 'missing-file.png'));
    await expect(proc.preprocessToArray(files)).rejects.toMatchObject({
      name: 'ImageInputError',
      source: fixturePath('golden', 'images', 'missing-file.png'),
    });
  });

  it('JPEG photos of the real ViT-Tiny (64 → 224 px): matches the side files', async () => {
    const proc = await ViTImageProcessor.fromPretrained(fixturePath('models', 'vit-tiny-tinyimagenet'));
    for (const name of ['val_68', 'val_23', 'val_130']) {
      const g = readJson('golden', `vit-tiny-tinyimagenet-pixels-${name}.json`);
      const { data } = await proc.preprocessToArray(
        fixturePath('data', 'tiny-imagenet-val-200', `${name}.JPEG`),
      );
      expect(maxAbsDiff(data, g.pixel_values.flat(3)), name).toBe(0);
    }
  });

  it('browser path: ImageData-like RGBA gives the same numbers as the file path', async () => {
    const proc = await ViTImageProcessor.fromPretrained(fixturePath('vit-tiny-random-224'));
    const gold = readJson('golden', 'vit-tiny-random-224-pixels-rgba_24x20.json');
    // RGBA bytes as a canvas would hand them over (alpha kept in the buffer, then dropped like PIL).
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(fixturePath('golden', 'images', 'rgba_24x20.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const imageData = { data: new Uint8ClampedArray(data), width: info.width, height: info.height };
    const out = await proc.preprocessToArray([imageData, imageData]);
    expect(out.shape).toEqual([2, 3, 224, 224]);
    const g = gold.pixel_values.flat(3);
    expect(maxAbsDiff(out.data.subarray(0, g.length), g)).toBe(0);
    expect(maxAbsDiff(out.data.subarray(g.length), g)).toBe(0);
  });

  it('preprocess returns a [N,3,H,W] float32 tensor and leaks nothing', async () => {
    const proc = await ViTImageProcessor.fromPretrained(fixturePath('vit-tiny-random'));
    const files = ['solid_17x23', 'gradient_40x30'].map((n) => fixturePath('golden', 'images', `${n}.png`));
    const before = tf.memory().numTensors;
    const { pixelValues } = await proc.preprocess(files);
    expect(pixelValues.shape).toEqual([2, 3, 32, 32]);
    expect(pixelValues.dtype).toBe('float32');
    pixelValues.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expectNoLeaks(() => proc.preprocessToArray(files), 'preprocessToArray');
  });
});

describe('decodeImage', () => {
  it('grey is copied into R, G and B', async () => {
    const sharp = (await import('sharp')).default;
    const png = await sharp(new Uint8Array([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const rgb = await decodeImage(png);
    expect([...rgb.data]).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  });
});

describe('preprocessor_config.json is validated before any pixel is touched', () => {
  it.each([
    [
      { rescale_factor: '0.00392' },
      'rescale_factor',
      /must be a number in \(0, 1000000\], got the string "0.00392"/,
    ],
    [{ rescale_factor: 0 }, 'rescale_factor', /in \(0, /],
    [{ image_std: [0.5, 1e-9, 0.5] }, 'image_std', /\[1\] is 1e-9, must be > 0.000001/],
    [{ image_std: [0.5, 0, 0.5] }, 'image_std', /\[1\] is 0/],
    [{ image_std: [0.5, '0.5', 0.5] }, 'image_std', /3 finite numbers/],
    [{ image_mean: [0.5, 0.5] }, 'image_mean', /3 finite numbers/],
    [{ image_mean: 'abc' }, 'image_mean', /got the string "abc"/],
    [{ size: 1e6 }, 'size', /integers in \[1, 4096\], got 1000000/],
    [{ size: { height: 1e6, width: 224 } }, 'size', /integers in \[1, 4096\]/],
    [{ size: { shortest_edge: '224' } }, 'size', /got \{"shortest_edge":"224"\}/],
    [{ do_resize: 'false' }, 'do_resize', /true or false/],
    [{ resample: 9 }, 'resample', /integer in \[0, 5\]/],
  ])('%j → ImageProcessorConfigError naming the file and the field', (config, field, message) => {
    let err: unknown;
    try {
      new ViTImageProcessor(config as never, 'm/preprocessor_config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImageProcessorConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ source: 'm/preprocessor_config.json', field });
    expect((err as Error).message).toMatch(message);
  });

  it('HF forms still load: a single size, {shortest_edge}, a single mean/std number', () => {
    const p = new ViTImageProcessor({ size: 64, image_mean: 0.5, image_std: 0.25 });
    expect(p.config.size).toEqual({ height: 64, width: 64 });
    expect(p.config.image_mean).toEqual([0.5, 0.5, 0.5]);
    expect(p.config.image_std).toEqual([0.25, 0.25, 0.25]);
    expect(new ViTImageProcessor({ size: { shortest_edge: 48 } as never }).config.size).toEqual({
      height: 48,
      width: 48,
    });
    // (255·(1/255) − 0.5) / 0.25 = 2 for a white pixel, and −2 for black.
    const { data } = p.processRgb({
      data: new Uint8Array([255, 255, 255, 0, 0, 0]),
      width: 2,
      height: 1,
      channels: 3,
    });
    expect(data.length).toBe(3 * 64 * 64);
    expect(Math.max(...data)).toBe(2);
    expect(Math.min(...data)).toBe(-2);
  });
});
