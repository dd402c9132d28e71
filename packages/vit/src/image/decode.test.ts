import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from './decode.js';
import { ImageInputError } from './errors.js';
import { cmykToRgb } from './rgb.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vit-decode-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A PNG whose header claims width × height (8-bit RGB unless told) but carries almost no pixel data. */
function pngHeaderOnly(
  width: number,
  height: number,
  bitDepth = 8,
  colourType = 2,
  idat: Uint8Array = new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, colourType, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array()),
  ]);
}

/**
 * The bomb: a valid 89,000,000 × 1 8-bit RGB PNG, all black — 267 MB of pixels deflated to
 * about 259 KB. Built by streaming zeros through deflate, so the test itself never holds the pixels.
 */
async function stripBomb(width = 89_000_000): Promise<Buffer> {
  const { createDeflate } = await import('node:zlib');
  const z = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  z.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise((resolve) => z.on('end', resolve));
  z.write(Buffer.alloc(1)); // filter byte of the one row
  const zeros = Buffer.alloc(1 << 20);
  for (let left = width * 3; left > 0; left -= zeros.length) {
    const piece = left >= zeros.length ? zeros : zeros.subarray(0, left);
    if (!z.write(piece)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return pngHeaderOnly(width, 1, 8, 2, Buffer.concat(parts));
}

async function errorOf(p: Promise<unknown>): Promise<ImageInputError> {
  const e = await p.then(
    () => undefined,
    (err) => err,
  );
  expect(e).toBeInstanceOf(ImageInputError);
  return e as ImageInputError;
}

describe('decodeImage: bad input gives typed errors naming the file', () => {
  it('a text file named .png', async () => {
    const f = join(dir, 'notes.png');
    await writeFile(f, 'this is not an image\n');
    const e = await errorOf(decodeImage(f));
    expect(e.code).toBe('unsupported');
    expect(e.message).toContain('notes.png');
  });

  it('a missing file', async () => {
    const e = await errorOf(decodeImage(join(dir, 'nope.png')));
    expect(e.message).toContain('nope.png');
  });

  it('a truncated JPEG', async () => {
    const jpeg = await sharp({
      create: {
        width: 64,
        height: 64,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .jpeg()
      .toBuffer();
    const f = join(dir, 'cut.jpg');
    await writeFile(f, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const e = await errorOf(decodeImage(f));
    expect(e.code).toBe('corrupt');
    expect(e.message).toContain('cut.jpg');
  });

  it('a 0×0 image is refused; a 1×1 image decodes (HF resizes it like any other)', async () => {
    const f = join(dir, 'zero.png');
    await writeFile(f, pngHeaderOnly(0, 0));
    const e = await errorOf(decodeImage(f));
    expect(e.message).toContain('zero.png');
    const one = await sharp({
      create: { width: 1, height: 1, channels: 3, background: { r: 9, g: 99, b: 199 } },
    })
      .png()
      .toBuffer();
    const rgb = await decodeImage(one);
    expect([rgb.width, rgb.height, ...rgb.data]).toEqual([1, 1, 9, 99, 199]);
  });

  it('a 20000×20000 PNG is refused by the pixel limit from its header, before decoding', async () => {
    const f = join(dir, 'huge.png');
    await writeFile(f, pngHeaderOnly(20000, 20000));
    const started = Date.now();
    const e = await errorOf(decodeImage(f));
    expect(e.code).toBe('too-large');
    expect(e.message).toMatch(/huge\.png: 20000×20000 = 400000000 pixels exceeds the limit of 89478485/);
    expect(Date.now() - started).toBeLessThan(5000); // nothing was decoded (a decode would need 1.2 GB)
    const small = await errorOf(decodeImage(pngHeaderOnly(100, 100), { maxPixels: 99 }));
    expect(small.code).toBe('too-large');
  });

  it('the 89,000,000 × 1 strip (under the pixel limit) is refused by its decode cost in bytes, quickly and without memory', async () => {
    const f = join(dir, 'strip.png');
    const png = await stripBomb();
    expect(png.byteLength).toBeGreaterThan(200_000);
    expect(png.byteLength).toBeLessThan(300_000);
    await writeFile(f, png);
    const rss = process.memoryUsage().rss;
    const started = Date.now();
    const e = await errorOf(decodeImage(f));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 ** 2);
    expect(e.code).toBe('too-large');
    expect(e.source).toBe(f);
    // 267,000,000 B of pixels + 24 × 89,000,001 B of resampling weights = 2,403,000,024 B.
    expect(e.message).toMatch(
      /strip\.png: 89000000×1×3 \(uchar\) would take 2291\.7 MiB .* limit of 512\.0 MiB/,
    );
    // The same bytes as a buffer are refused the same way, named as a buffer.
    expect((await errorOf(decodeImage(new Uint8Array(png)))).source).toBe(
      `<buffer of ${png.byteLength} bytes>`,
    );
  }, 30_000);

  it('deep pixels count in bytes: 8000×8000 16-bit RGBA (64 M pixels) is refused though under the pixel limit', async () => {
    const e = await errorOf(decodeImage(pngHeaderOnly(8000, 8000, 16, 6)));
    expect(e.code).toBe('too-large');
    // 64,000,000 × (4 × 2 + 3) + 24 × 16,000 = 704,384,000 B.
    expect(e.message).toMatch(/8000×8000×4 \(ushort\) would take 671\.8 MiB/);
    const ok = await errorOf(decodeImage(pngHeaderOnly(8000, 8000, 16, 6), { maxBytes: 704_384_000 }));
    expect(ok.code).toBe('corrupt'); // past the byte bound, the header-only check below stops it
  });

  it('a header-only PNG within every bound is refused before decoding: its bytes cannot hold the pixels', async () => {
    const e = await errorOf(decodeImage(pngHeaderOnly(9000, 9000)));
    expect(e.code).toBe('corrupt');
    expect(e.message).toMatch(
      /claims 9000×9000 pixels \(at least 10134000 bytes of image data\), more than \d+ bytes of PNG can hold/,
    );
  });
});

describe('decodeImage: conversions like PIL .convert("RGB")', () => {
  it('16-bit grey PNG: PIL mode "I" clips each value to 255', async () => {
    const png = await sharp(new Uint16Array([0, 100, 255, 256, 1000, 65535]), {
      raw: { width: 3, height: 2, channels: 1 },
    })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const rgb = await decodeImage(png);
    expect(Array.from(rgb.data.filter((_, i) => i % 3 === 0))).toEqual([0, 100, 255, 255, 255, 255]);
  });

  it('16-bit RGB PNG: the high byte of each sample', async () => {
    const png = await sharp(new Uint16Array([0, 1000, 65535, 300, 40000, 513]), {
      raw: { width: 2, height: 1, channels: 3 },
    })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const rgb = await decodeImage(png);
    expect(Array.from(rgb.data)).toEqual([0, 3, 255, 1, 156, 2]);
  });

  it("CMYK JPEG: PIL's ink formula, no colour management", async () => {
    // cmyk2rgb by hand: R = 255 − K − C·(255 − K)/255 (rounded like PIL's MULDIV255)
    const px = cmykToRgb({
      data: new Uint8Array([0, 255, 255, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128, 64, 0, 51]),
      width: 4,
      height: 1,
      channels: 4,
    });
    expect(Array.from(px.data)).toEqual([255, 0, 0, 0, 255, 255, 0, 0, 0, 102, 153, 204]);
    const jpeg = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 230, g: 20, b: 20 } },
    })
      .toColourspace('cmyk')
      .jpeg({ quality: 100 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).space).toBe('cmyk');
    const ink = await sharp(jpeg).toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
    const rgb = await decodeImage(jpeg);
    const expected = cmykToRgb({ data: new Uint8Array(ink.data), width: 8, height: 8, channels: 4 });
    expect(Array.from(rgb.data)).toEqual(Array.from(expected.data));
    expect(rgb.data[0]).toBeGreaterThan(rgb.data[1] + 100); // still red
  });

  it('animated GIF: the first frame', async () => {
    const frames = new Uint8Array(2 * 4 * 4 * 4);
    for (let i = 0; i < frames.length; i += 4)
      frames.set(i < 64 ? [200, 10, 10, 255] : [10, 10, 200, 255], i);
    const gif = await sharp(frames, { raw: { width: 4, height: 8, channels: 4, pageHeight: 4 } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const rgb = await decodeImage(gif);
    expect([rgb.width, rgb.height]).toEqual([4, 4]);
    expect(Array.from(rgb.data.subarray(0, 3))).toEqual([200, 10, 10]);
  });

  it('EXIF orientation is applied (as ImageOps.exif_transpose); WebP decodes losslessly', async () => {
    const jpeg = await sharp(new Uint8Array([255, 0, 0, 0, 0, 255]), {
      raw: { width: 2, height: 1, channels: 3 },
    })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const rgb = await decodeImage(jpeg);
    expect([rgb.width, rgb.height]).toEqual([1, 2]); // rotated 90°
    const webp = await sharp(new Uint8Array([10, 20, 30, 40, 50, 60]), {
      raw: { width: 2, height: 1, channels: 3 },
    })
      .webp({ lossless: true })
      .toBuffer();
    expect(Array.from((await decodeImage(webp)).data)).toEqual([10, 20, 30, 40, 50, 60]);
  });
});
