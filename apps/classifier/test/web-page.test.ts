/**
 * The web page runs the models itself (Chromium, no GPU: WASM), with `attn serve` behind it and as a plain
 * static folder: the image and text flows work end to end with no request to /v1/*, the network log says so,
 * and the in-page labels and scores for the sample digit and mail equal the server's to 1e-4. The "run on the
 * server" switch still posts to /v1/*. The server serves only the page models' own files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '@attn/core-tensor';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_MODELS } from '../src/models.js';
import { type RunningServer, startServer } from '../src/server/app.js';
import { writeStaticSite } from '../src/server/static.js';
import { dropFile, haveChromium, launchChromium } from './chromium.js';

const builtins = BUILTIN_MODELS.every((m) => existsSync(join(m.dir, 'model.safetensors')));
const samples = resolve(import.meta.dirname, '../samples');
const digit = readFileSync(join(samples, 'digit-7.png'));
const mail = readFileSync(join(samples, 'spam.txt'), 'utf8').trim();

interface Prediction {
  label: string;
  score: number;
}

/** The page's predictions with their unrounded scores (each <li>'s data-score). */
async function predictions(page: Page, list: string): Promise<Prediction[]> {
  return page.$$eval(`${list} li`, (lis) =>
    lis.map((li) => ({
      label: li.querySelector('.label')?.textContent ?? '',
      score: Number((li as HTMLElement).dataset.score),
    })),
  );
}

function expectSame(got: Prediction[], want: Prediction[]): void {
  expect(got.map((p) => p.label)).toEqual(want.map((p) => p.label));
  for (const [i, p] of got.entries()) expect(Math.abs(p.score - want[i].score)).toBeLessThan(1e-4);
}

/** The paths of every request the page makes (method and path), from the moment it is opened. */
function networkLog(page: Page): string[] {
  const log: string[] = [];
  page.on('request', (r) => log.push(`${r.method()} ${new URL(r.url()).pathname}`));
  return log;
}

async function imageFlow(page: Page): Promise<Prediction[]> {
  await dropFile(page, '#drop', digit, 'digit-7.png', 'image/png');
  await page.waitForFunction(() => {
    const img = document.getElementById('image-heatmap') as HTMLImageElement;
    const err = document.getElementById('image-error')?.textContent;
    return err || (!img.hidden && img.complete && img.naturalWidth > 0);
  });
  expect(await page.textContent('#image-error')).toBe('');
  return predictions(page, '#image-predictions');
}

async function textFlow(page: Page): Promise<Prediction[]> {
  await page.fill('#text', mail);
  await page.click('#text-form button[type=submit]');
  await page.waitForFunction(() => {
    const img = document.getElementById('text-heatmap') as HTMLImageElement;
    const err = document.getElementById('text-error')?.textContent;
    return err || (!img.hidden && img.complete && img.naturalWidth > 0);
  });
  expect(await page.textContent('#text-error')).toBe('');
  return predictions(page, '#text-predictions');
}

/** A GET with the path sent as written (no client-side normalisation of `..`). */
function rawGet(base: string, path: string): Promise<number> {
  return new Promise((ok, fail) => {
    const u = new URL(base);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail).end();
  });
}

describe.skipIf(!builtins)('the server serves the page models as static files, and nothing else', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      backend: await initBackend('wasm'),
      maxBatch: 8,
      windowMs: 5,
      maxQueue: 64,
      maxBodyBytes: 10 * 1024 * 1024,
    });
  });
  afterAll(() => server?.close());

  it('answers the model files byte for byte and 404 for traversal, other files and other folders', async () => {
    const dir = BUILTIN_MODELS.find((m) => m.name === 'spam-bert')!.dir;
    const res = await fetch(`${server.url}/models/spam-bert/vocab.txt`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(dir, 'vocab.txt')))).toBe(true);
    expect((await fetch(`${server.url}/models/mnist-vit/config.json`)).status).toBe(200);
    for (const path of [
      '/models/../package.json',
      '/models/mnist-vit/../../package.json',
      '/models/mnist-vit/%2e%2e/%2e%2e/package.json',
      '/models/mnist-vit/..%2f..%2fpackage.json',
      '/models/mnist-vit/README.md',
      '/models/mnist-vit/training_history.json',
      '/models/spam-bert-mlm/config.json',
      '/models/spam-bert/',
      '/models/spam-bert',
      '/../package.json',
      '/src/cli.ts',
    ])
      expect([path, await rawGet(server.url, path)]).toEqual([path, 404]);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { page: unknown };
    expect(health.page).toEqual({ image: './models/mnist-vit/', text: './models/spam-bert/' });
  });
});

describe.skipIf(!haveChromium || !builtins)('the web page runs the models in the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let staticServer: Server;
  let staticUrl: string;
  let site: string;
  /** What the server answers for the sample digit and mail: what the page must show. */
  let want: { image: Prediction[]; text: Prediction[] };

  beforeAll(async () => {
    // The engine from the TypeScript sources, so the test never runs a stale dist/.
    const script = pathToFileURL(resolve(import.meta.dirname, '../scripts/build-web.mjs')).href;
    const { buildPage } = (await import(script)) as {
      buildPage(out?: string, opts?: { source?: boolean }): Promise<number>;
    };
    await buildPage(undefined, { source: true });
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      backend: await initBackend('wasm'),
      maxBatch: 8,
      windowMs: 5,
      maxQueue: 64,
      maxBodyBytes: 10 * 1024 * 1024,
    });
    const image = (await (
      await fetch(`${server.url}/v1/classify-image?top=5`, {
        method: 'POST',
        body: digit,
        headers: { 'content-type': 'application/octet-stream' },
      })
    ).json()) as { predictions: Prediction[] };
    const text = (await (
      await fetch(`${server.url}/v1/classify-text?top=5`, {
        method: 'POST',
        body: JSON.stringify({ text: mail }),
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as { predictions: Prediction[] };
    want = { image: image.predictions, text: text.predictions };

    site = join(mkdtempSync(join(tmpdir(), 'attn-site-')), 'web');
    writeStaticSite(site);
    // Any static file server: here node's http, serving the folder's files and nothing else.
    staticServer = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = normalize(join(site, path === '/' ? 'index.html' : path));
      if (!file.startsWith(site + sep) || !existsSync(file) || file.endsWith(sep))
        return res.writeHead(404).end();
      const ext = file.slice(file.lastIndexOf('.') + 1);
      const types: Record<string, string> = {
        html: 'text/html',
        js: 'text/javascript',
        css: 'text/css',
        wasm: 'application/wasm',
      };
      try {
        res
          .writeHead(200, { 'content-type': types[ext] ?? 'application/octet-stream' })
          .end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => staticServer.listen(0, '127.0.0.1', ok));
    staticUrl = `http://127.0.0.1:${(staticServer.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((ok) => staticServer?.close(ok));
    if (site) rmSync(resolve(site, '..'), { recursive: true, force: true });
  });

  it('classifies the digit and the mail in the page, with no request to /v1/*, as the server does (1e-4)', async () => {
    const page = await browser.newPage();
    const log = networkLog(page);
    // Every text the load line shows, as it changes.
    await page.addInitScript(() => {
      const shown: string[] = [];
      Object.assign(window, { shown });
      document.addEventListener('DOMContentLoaded', () => {
        const line = document.getElementById('page-engine')!;
        new MutationObserver(() => shown.push(line.textContent ?? '')).observe(line, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    expect(await page.isChecked('#on-server')).toBe(false);
    expectSame(await imageFlow(page), want.image);
    expect(await page.textContent('#image-engine')).toMatch(
      /^ran in this page on wasm.*: [\d.]+ ms to classify, [\d.]+ ms for the attention picture$/,
    );
    expectSame(await textFlow(page), want.text);
    expect(await page.textContent('#text-engine')).toMatch(/^ran in this page on wasm/);
    expect(await page.textContent('#page-engine')).toMatch(
      /image model \.\/models\/mnist-vit\/ runs in this page on wasm.*text model \.\/models\/spam-bert\/ runs in this page on wasm/,
    );
    expect(log.filter((r) => r.includes(' /v1/'))).toEqual([]);
    // The models came to the page as files, and the engine with its .wasm.
    expect(log).toContain('GET /models/mnist-vit/model.safetensors');
    expect(log).toContain('GET /models/spam-bert/model.safetensors');
    expect(log).toContain('GET /attn-page.js');
    expect(log.some((r) => /^GET \/tfjs-backend-wasm[\w-]*\.wasm$/.test(r))).toBe(true);
    // The load progress the pipelines reported was shown while the models downloaded.
    const shown = await page.evaluate(() => (window as unknown as { shown: string[] }).shown);
    expect(shown.some((t) => /^loading the image model: model\.safetensors \d+%$/.test(t))).toBe(true);
    expect(shown.some((t) => /^loading the text model: model\.safetensors \d+%$/.test(t))).toBe(true);
    // Each input leaves the page's tensor count where it was.
    // A string, so vitest does not rewrite the page's import() as its own.
    const count = () => page.evaluate<number>("import('/attn-page.js').then((m) => m.tensorCount())");
    const before = await count();
    for (let i = 0; i < 3; i++) {
      await imageFlow(page);
      await textFlow(page);
    }
    expect(await count()).toBe(before);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('"run on the server" posts the inputs to /v1/* and shows the server\'s answer', async () => {
    const page = await browser.newPage();
    const log = networkLog(page);
    await page.goto(`${server.url}/`);
    await page.check('#on-server');
    expectSame(await imageFlow(page), want.image);
    expect(await page.textContent('#image-engine')).toMatch(/ran on the server .*backend wasm/);
    expectSame(await textFlow(page), want.text);
    expect(await page.textContent('#text-engine')).toMatch(/ran on the server/);
    expect(log).toContain('POST /v1/classify-image');
    expect(log).toContain('POST /v1/classify-text');
    await page.close();
  });

  it('the static folder on a plain file server classifies too, with no attn server', async () => {
    const page = await browser.newPage();
    const log = networkLog(page);
    await page.goto(`${staticUrl}/`);
    await page.waitForFunction(() =>
      document.getElementById('engine')?.textContent?.includes('No attn server'),
    );
    expect(await page.isDisabled('#on-server')).toBe(true);
    expectSame(await imageFlow(page), want.image);
    expectSame(await textFlow(page), want.text);
    expect(await page.textContent('#image-engine')).toMatch(/^ran in this page on wasm/);
    expect(log.filter((r) => r.includes(' /v1/'))).toEqual([]);
    await page.close();
  });

  it('a file that is not an image gets ImageInputError from the page', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await dropFile(page, '#drop', Buffer.from('not an image'), 'notes.png', 'image/png');
    await page.waitForFunction(() => (document.getElementById('image-error')?.textContent ?? '').length > 0);
    expect(await page.textContent('#image-error')).toMatch(/^ImageInputError: .*notes\.png/);
    await page.close();
  });
});
