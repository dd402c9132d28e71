/**
 * The two browser examples, built as CI builds them (examples/build.mjs) and run in Chromium against the
 * fixture models served beside them: the ViT page classifies a dropped PNG as Hugging Face does, and the
 * BERT page's cosine equals the one Node's pipeline computes to 1e-4. Inference happens in the page: the
 * server only ever sends static files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { pipeline as bertPipeline } from '@attn/bert';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const examples = resolve(import.meta.dirname, '../../../examples');
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

function serve(dist: string, modelDir: string): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    const file = path.startsWith('/model/')
      ? join(modelDir, path.slice('/model/'.length))
      : join(dist, path === '/' ? 'index.html' : path.slice(1));
    if (!/^[\w/.-]+$/.test(path) || path.includes('..') || !existsSync(file)) return res.writeHead(404).end();
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ server, requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe.skipIf(!existsSync(CHROMIUM) || !haveFixtures('browser examples'))('examples/ in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    for (const ex of ['vit-classify', 'bert-embed'])
      execFileSync(process.execPath, ['../build.mjs'], { cwd: join(examples, ex), stdio: 'pipe' });
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
  });

  it('vit-classify: a dropped PNG gets the label Hugging Face gives it, computed in the page', async () => {
    const gold = JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8')).images[0];
    const { server, url, requests } = await serve(
      join(examples, 'vit-classify/dist'),
      fixturePath('vit-tiny-random'),
    );
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent?.startsWith('ready'),
      null,
      {
        timeout: 60_000,
      },
    );
    const png = readFileSync(fixturePath('golden', gold.image)).toString('base64');
    const dt = await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      dt.items.add(
        new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'gradient.png', { type: 'image/png' }),
      );
      return dt;
    }, png);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    await page.waitForSelector('#results li');
    expect(await page.textContent('#results li:first-child')).toMatch(
      new RegExp(`^${gold.predicted_label} `),
    );
    expect(await page.textContent('#status')).toMatch(/gradient\.png: \d+ ms on wasm/);
    expect(requests.every((r) => r.startsWith('GET '))).toBe(true);
    await page.close();
    await new Promise((ok) => server.close(ok));
  });

  it("bert-embed: the page's cosine of two sentences equals Node's pipeline to 1e-4", async () => {
    const dir = fixturePath('bert-tiny-random');
    const a = 'The cat sits on the mat.';
    const b = 'A kitten is resting on a rug.';
    const embed = await bertPipeline('feature-extraction', dir, { device: 'cpu' });
    const [u, v] = (await embed([a, b], { pooling: 'mean', normalize: true })).tolist() as number[][];
    const want = u!.reduce((s, x, i) => s + x * v![i]!, 0);
    const { server, url, requests } = await serve(join(examples, 'bert-embed/dist'), dir);
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent?.startsWith('ready'),
      null,
      {
        timeout: 60_000,
      },
    );
    await page.click('#go');
    await page.waitForFunction(() => document.getElementById('out')?.textContent?.startsWith('cosine'));
    const got = Number(/cosine (-?[\d.]+)/.exec((await page.textContent('#out')) ?? '')![1]);
    expect(Math.abs(got - want)).toBeLessThan(1e-4);
    expect(requests.filter((r) => r.includes('/model/')).length).toBeGreaterThan(0);
    expect(requests.every((r) => r.startsWith('GET '))).toBe(true);
    await page.close();
    await new Promise((ok) => server.close(ok));
  });
});
