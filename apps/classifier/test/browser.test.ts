/**
 * The web page in real Chromium (Debian's /usr/bin/chromium driven by playwright-core; no browser download):
 * drop an image → label and heatmap; type a text → label and heatmap. Screenshots go to $ATTN_SCREENSHOTS
 * (the README's come from `ATTN_SCREENSHOTS=apps/classifier/docs` with the built-in models).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_MODELS } from '../src/models.js';
import { type RunningServer, startServer } from '../src/server/app.js';
import { CHROMIUM, dropFile, haveChromium, launchChromium } from './chromium.js';
import { golden, ranked } from './helpers.js';

if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium`);
  console.warn(`\n[attn] ${CHROMIUM} not found (apt-get install chromium): skipping the browser test\n`);
}
/** The README's screenshots show the built-in models; the test's checks use the fixtures' golden answers. */
const builtins = BUILTIN_MODELS.every((m) => existsSync(join(m.dir, 'model.safetensors')));
const shots = process.env.ATTN_SCREENSHOTS;

describe.skipIf(!haveChromium || !haveFixtures('browser test'))('the web page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const useBuiltins = builtins && !!shots;

  beforeAll(async () => {
    const backend = await initBackend('wasm');
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      backend,
      imageModel: useBuiltins ? 'mnist-vit' : fixturePath('vit-tiny-random'),
      textModel: useBuiltins ? 'spam-bert' : fixturePath('bert-tiny-random'),
      maxBatch: 8,
      windowMs: 5,
      maxQueue: 64,
      maxBodyBytes: 10 * 1024 * 1024,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('drop an image: the label, the scores and the attention heatmap appear, and the page names the engine', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() =>
      document.getElementById('engine')?.textContent?.includes('backend wasm'),
    );
    const file = useBuiltins
      ? resolve(import.meta.dirname, '../samples/digit-7.png')
      : fixturePath('golden', 'images/gradient_40x30.png');
    await dropFile(page, '#drop', readFileSync(file), 'input.png', 'image/png');
    await page.waitForSelector('#image-predictions li');
    await page.waitForFunction(() => {
      const img = document.getElementById('image-heatmap') as HTMLImageElement;
      return !img.hidden && img.complete && img.naturalWidth > 0;
    });
    const top = await page.textContent('#image-predictions li:first-child .label');
    if (useBuiltins) expect(top).toBe('7');
    else {
      const gold = golden<{ images: { logits: number[][] }[] }>('vit-tiny-random.json').images[0];
      expect(top).toBe(ranked(gold.logits[0], ['cat', 'dog', 'car', 'cup', 'rocket'], 1)[0].label);
    }
    expect(await page.locator('#image-predictions li').count()).toBe(5);
    expect(await page.textContent('#image-engine')).toMatch(
      useBuiltins ? /ran in this page on wasm/ : /ran on the server .*backend wasm/,
    );
    expect(await page.textContent('#image-error')).toBe('');
    if (shots) {
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'web-image.png'), fullPage: true });
    }
    await page.close();
  });

  it('type a text: the label and the token attention picture appear', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${server.url}/`);
    const text = useBuiltins
      ? readFileSync(resolve(import.meta.dirname, '../samples/spam.txt'), 'utf8').trim()
      : 'The quick brown fox jumps over the lazy dog.';
    await page.fill('#text', text);
    await page.click('#text-form button[type=submit]');
    await page.waitForSelector('#text-predictions li');
    await page.waitForFunction(() => {
      const img = document.getElementById('text-heatmap') as HTMLImageElement;
      return !img.hidden && img.complete && img.naturalWidth > 0;
    });
    const top = await page.textContent('#text-predictions li:first-child .label');
    if (useBuiltins) expect(top).toBe('spam');
    else {
      const gold = golden<{ inputs: { seq_cls_logits: number[][] }[] }>('bert-tiny-random.json').inputs[0];
      expect(top).toBe(ranked(gold.seq_cls_logits[0], ['negative', 'neutral', 'positive'], 1)[0].label);
    }
    expect(await page.textContent('#text-engine')).toMatch(
      useBuiltins ? /ran in this page/ : /ran on the server/,
    );
    if (shots) await page.screenshot({ path: join(shots, 'web-text.png'), fullPage: true });
    await page.close();
  });

  it('says why when the text is blank, instead of doing nothing', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.fill('#text', '   \n\t ');
    await page.click('#text-form button[type=submit]');
    await page.waitForFunction(() => (document.getElementById('text-error')?.textContent ?? '').length > 0);
    expect(await page.textContent('#text-error')).toMatch(
      /empty or whitespace-only text has nothing to classify/,
    );
    expect(await page.locator('#text-predictions li').count()).toBe(0);
    await page.close();
  });

  it('shows the server error for a file that is not an image', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await dropFile(page, '#drop', Buffer.from('not an image'), 'notes.png', 'image/png');
    await page.waitForFunction(() => (document.getElementById('image-error')?.textContent ?? '').length > 0);
    expect(await page.textContent('#image-error')).toMatch(/ImageInputError/);
    await page.close();
  });
});
