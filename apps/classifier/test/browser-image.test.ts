/**
 * @attn/vit in real Chromium (Debian's, driven by playwright-core), bundled with esbuild for the browser and
 * served from 127.0.0.1: every image form a page has (Blob/File, ImageBitmap, <img>, <canvas>, ImageData)
 * gives Node's pixel values for the same PNG, the processor loads by a URL relative to the page (and from the
 * Cache API once the server is gone), and bad input gets the same typed errors as in Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { ViTImageProcessor } from '@attn/vit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from './browser-bundle.js';

interface PageApi {
  forms(name: string): Promise<Record<string, number[]>>;
  errors(): Promise<Record<string, unknown>>;
}

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// Opaque images: a canvas stores premultiplied alpha, so only they come back from the page bit for bit.
const IMAGES = ['gradient_40x30.png', 'noise_300x250.png', 'checkerboard_64x64.png', 'grayscale_33x33.png'];

const PAGE = `
import { ViTImageProcessor, ImageInputError } from '@attn/vit';
import { PretrainedError } from '@attn/core-tensor';
const toArray = (x) => Array.from(x.data);
window.attn = {
  async forms(name) {
    const proc = await ViTImageProcessor.fromPretrained('./models/vit/');
    const blob = await (await fetch('/images/' + name)).blob();
    const file = new File([blob], name, { type: 'image/png' });
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none' });
    const img = new Image();
    img.src = URL.createObjectURL(blob);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    const imageData = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const out = {};
    for (const [form, input] of Object.entries({ blob, file, bitmap, img, canvas, imageData, url: '/images/' + name }))
      out[form] = toArray(await proc.preprocessToArray(input));
    return out;
  },
  async errors() {
    const proc = await ViTImageProcessor.fromPretrained('./models/vit');
    const seen = {};
    const note = (key) => (e) => { seen[key] = { name: e.name, code: e.code, where: e.where ?? e.source, message: e.message, typed: e instanceof ImageInputError || e instanceof PretrainedError }; };
    await proc.preprocessToArray(new Blob(['not a picture'], { type: 'text/plain' })).catch(note('textBlob'));
    await proc.preprocessToArray(new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])], 'cut.png', { type: 'image/png' })).catch(note('brokenPng'));
    await ViTImageProcessor.fromPretrained(location.origin + '/broken/vit').catch(note('http500'));
    await ViTImageProcessor.fromPretrained('/models/none').catch(note('missing'));
    await ViTImageProcessor.fromPretrained('http://127.0.0.1:9/m').catch(note('unreachable'));
    return seen;
  },
};
`;

describe.skipIf(!haveChromium || !haveFixtures('in-page images'))('@attn/vit images in Chromium', () => {
  let server: Server;
  let base: string;
  let browser: Browser;
  let serveModels = true;
  let html = '';
  let js = '';

  beforeAll(async () => {
    js = (await bundleForBrowser(PAGE, resolve(import.meta.dirname, '..'))).code;
    html = '<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>';
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (type: string, body: string | Buffer) =>
        res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
      if (path === '/') return send('text/html', html);
      if (path === '/app.js') return send('text/javascript', js);
      if (path.startsWith('/broken/')) return res.writeHead(500).end('boom');
      const model = /^\/models\/vit\/([\w.-]+)$/.exec(path);
      const image = /^\/images\/([\w.-]+\.png)$/.exec(path);
      const file =
        model && serveModels
          ? fixturePath('vit-tiny-random', model[1]!)
          : image
            ? fixturePath('golden', 'images', image[1]!)
            : undefined;
      if (file && existsSync(file))
        return send(image ? 'image/png' : 'application/octet-stream', readFileSync(file));
      res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
  });

  it("every image form gives Node's pixel values (1e-6), and the processor reloads from the Cache API", async () => {
    const node = await ViTImageProcessor.fromPretrained(fixturePath('vit-tiny-random'));
    const context = await browser.newContext();
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => 'attn' in window);
    for (const name of IMAGES) {
      const want = (await node.preprocessToArray(fixturePath('golden', 'images', name))).data;
      const got = (await page.evaluate(
        (n) => (window as unknown as { attn: PageApi }).attn.forms(n),
        name,
      )) as Record<string, number[]>;
      expect(Object.keys(got).sort()).toEqual([
        'bitmap',
        'blob',
        'canvas',
        'file',
        'imageData',
        'img',
        'url',
      ]);
      for (const [form, values] of Object.entries(got)) {
        expect(values.length, `${name} as ${form}`).toBe(want.length);
        const worst = values.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
        expect(worst, `${name} as ${form}`).toBeLessThanOrEqual(1e-6);
      }
    }
    // The model files were kept: with the server no longer serving them, a reload still loads the processor.
    serveModels = false;
    await page.reload();
    await page.waitForFunction(() => 'attn' in window);
    const again = (await page.evaluate(() =>
      (window as unknown as { attn: PageApi }).attn.forms('gradient_40x30.png'),
    )) as Record<string, number[]>;
    expect(again.blob!.length).toBe(3 * 32 * 32);
    serveModels = true;
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('a Blob that is not an image is an ImageInputError; HTTP errors name the URL and the status', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForFunction(() => 'attn' in window);
    const seen = (await page.evaluate(() =>
      (window as unknown as { attn: PageApi }).attn.errors(),
    )) as Record<string, { name: string; code: string; where: string; message: string; typed: boolean }>;
    expect(seen.textBlob).toMatchObject({
      name: 'ImageInputError',
      code: 'corrupt',
      where: '<text/plain>',
      typed: true,
    });
    expect(seen.brokenPng).toMatchObject({
      name: 'ImageInputError',
      code: 'corrupt',
      where: 'cut.png',
      typed: true,
    });
    expect(seen.http500).toMatchObject({
      name: 'PretrainedError',
      code: 'HTTP_ERROR',
      where: `${base}/broken/vit/preprocessor_config.json`,
      typed: true,
    });
    expect(seen.http500!.message).toMatch(/HTTP 500/);
    expect(seen.missing).toMatchObject({ name: 'ImageProcessorConfigError' });
    expect(seen.missing!.message).toContain(`${base}/models/none/preprocessor_config.json`);
    expect(seen.unreachable).toMatchObject({
      name: 'PretrainedError',
      code: 'NETWORK',
      where: 'http://127.0.0.1:9/m/preprocessor_config.json',
    });
    await page.close();
  });
});
