/**
 * Issue #16 item 6: `attn classify-image` on a 259 KB PNG of 89,000,000 × 1 pixels used to take 3 GB.
 * It must end in ImageInputError and a non-zero exit, in a real process that stays well under 1 GB.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32, createDeflate } from 'node:zlib';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../src/cli.ts');
// tsx is the app's dev dependency, so `--import tsx` resolves from the app's folder
const APP = resolve(import.meta.dirname, '..');
const TIME = '/usr/bin/time';

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** A valid 8-bit RGB PNG of one black row `width` pixels long, the zeros streamed through deflate. */
async function stripPng(width: number): Promise<Buffer> {
  const z = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  z.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise((r) => z.on('end', r));
  z.write(Buffer.alloc(1)); // the row's filter byte
  const zeros = Buffer.alloc(1 << 20);
  for (let left = 3 * width; left > 0; left -= zeros.length)
    if (!z.write(left >= zeros.length ? zeros : zeros.subarray(0, left)))
      await new Promise((r) => z.once('drain', r));
  z.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe.skipIf(!haveFixtures('image bomb CLI test'))('attn classify-image on a decompression bomb', () => {
  it('89,000,000 × 1 PNG: ImageInputError, exit 1, peak RSS under 1 GB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-bomb-'));
    const png = join(dir, 'strip.png');
    writeFileSync(png, await stripPng(89_000_000));
    const model = fixturePath('vit-tiny-random');
    const argv = [
      '--conditions=@attn/source',
      '--import',
      'tsx',
      CLI,
      '--backend',
      'cpu',
      'classify-image',
      '--model',
      model,
      png,
    ];
    // GNU time reports the child's peak RSS (%M, KiB) on the last stderr line.
    const timed = existsSync(TIME);
    const r = timed
      ? spawnSync(TIME, ['-f', '%M', process.execPath, ...argv], { cwd: APP, encoding: 'utf8' })
      : spawnSync(process.execPath, argv, { cwd: APP, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ImageInputError: .*strip\.png: 89000000×1×3 \(uchar\) would take 2291\.7 MiB/);
    if (timed) {
      const kib = Number(r.stderr.trim().split('\n').at(-1));
      expect(kib).toBeGreaterThan(0);
      expect(kib * 1024).toBeLessThan(1024 ** 3);
    }
  }, 120_000);
});
