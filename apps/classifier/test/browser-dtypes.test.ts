/**
 * The reduced weight files in real Chromium: a page runs `pipeline('image-classification', <http URL>,
 * { dtype })` for 'q8' and 'fp16' on a folder that holds model.safetensors and both variant files, served from
 * 127.0.0.1. Its scores equal Node's tfjs pipeline on the same folder and dtype to 1e-4, and the server's log
 * shows the page fetched that dtype's file and never model.safetensors.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '@attn/core-tensor';
import { CHROMIUM, chromiumArgs, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { ViTForImageClassification, pipeline as vitPipeline } from '@attn/vit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from './browser-bundle.js';

const PAGE = `
import { pipeline } from '@attn/vit';
window.attn = {
  async classify(url, dtype, image) {
    const classify = await pipeline('image-classification', url, { dtype, device: 'wasm' });
    const blob = await (await fetch('/images/' + image)).blob();
    const top = await classify(blob, { top_k: 5 });
    const out = { device: classify.device.device, top };
    await classify.dispose();
    return out;
  },
};
`;

type Pred = { label: string; score: number };

describe.skipIf(!existsSync(CHROMIUM) || !haveFixtures('in-page dtypes'))(
  'dtype fp16 / q8 in Chromium',
  () => {
    const image = 'noise_300x250.png';
    const dir = mkdtempSync(join(tmpdir(), 'attn-browser-dtype-'));
    const requests: string[] = [];
    let server: Server;
    let base: string;
    let browser: Browser;

    beforeAll(async () => {
      await initBackend('wasm');
      const src = fixturePath('vit-tiny-random');
      for (const f of ['config.json', 'preprocessor_config.json', 'model.safetensors'])
        copyFileSync(join(src, f), join(dir, f));
      const model = await ViTForImageClassification.fromPretrained(src);
      await model.save(join(dir, 'fp16'), undefined, { dtype: 'fp16' });
      await model.save(join(dir, 'q8'), undefined, { dtype: 'q8' });
      model.dispose();
      // one folder holding every dtype's weights: the page must pick the one it asked for
      copyFileSync(join(dir, 'fp16', 'model.fp16.safetensors'), join(dir, 'model.fp16.safetensors'));
      copyFileSync(join(dir, 'q8', 'model.q8.safetensors'), join(dir, 'model.q8.safetensors'));

      const js = (await bundleForBrowser(PAGE, resolve(import.meta.dirname, '..'))).code;
      const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>';
      const wasmDir = resolve(
        import.meta.dirname,
        '../node_modules/@attn/core-tensor/node_modules/@tensorflow/tfjs-backend-wasm/dist',
      );
      server = createServer((req, res) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        requests.push(`${req.method} ${path}`);
        const send = (type: string, body: string | Buffer) =>
          res.writeHead(200, { 'content-type': type }).end(body);
        if (path === '/') return send('text/html', html);
        if (path === '/app.js') return send('text/javascript', js);
        const wasm = /^\/(tfjs-backend-wasm[\w-]*\.wasm)$/.exec(path);
        const file = /^\/models\/vit\/([\w.-]+)$/.exec(path);
        const img = /^\/images\/([\w.-]+\.png)$/.exec(path);
        const found = wasm
          ? resolve(wasmDir, wasm[1]!)
          : file
            ? join(dir, file[1]!)
            : img
              ? fixturePath('golden', 'images', img[1]!)
              : undefined;
        if (found && existsSync(found))
          return send(wasm ? 'application/wasm' : 'application/octet-stream', readFileSync(found));
        res.writeHead(404).end();
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs({ webgpu: false }) });
    });
    afterAll(async () => {
      await browser?.close();
      await new Promise((ok) => server?.close(ok));
    });

    for (const dtype of ['q8', 'fp16'] as const) {
      it(`${dtype}: the page fetches model.${dtype}.safetensors only and its scores equal Node's to 1e-4`, async () => {
        const node = await vitPipeline('image-classification', dir, { dtype, device: 'wasm' });
        const want = (await node(fixturePath('golden', 'images', image), { top_k: 5 })) as Pred[];
        await node.dispose();
        const fp32 = await vitPipeline('image-classification', dir, { device: 'wasm' });
        const full = (await fp32(fixturePath('golden', 'images', image), { top_k: 5 })) as Pred[];
        await fp32.dispose();

        requests.length = 0;
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/`);
        await page.waitForFunction(() => 'attn' in window);
        const got = (await page.evaluate(
          ([url, d, img]) =>
            (window as unknown as { attn: { classify(...a: string[]): Promise<unknown> } }).attn.classify(
              url!,
              d!,
              img!,
            ),
          [`${base}/models/vit/`, dtype, image],
        )) as { device: string; top: Pred[] };
        await page.close();
        expect(errors).toEqual([]);
        expect(got.device).toBe('wasm');
        expect(got.top.map((p) => p.label)).toEqual(want.map((p) => p.label));
        for (const [i, p] of got.top.entries()) expect(Math.abs(p.score - want[i]!.score)).toBeLessThan(1e-4);
        // and the reduced weights really ran: not fp32's scores
        expect(Math.max(...got.top.map((p, i) => Math.abs(p.score - full[i]!.score)))).toBeGreaterThan(0);

        const weights = requests.filter((r) => r.includes('.safetensors'));
        expect(weights.some((r) => r === `GET /models/vit/model.${dtype}.safetensors`)).toBe(true);
        expect(weights.filter((r) => !r.endsWith(`/model.${dtype}.safetensors`))).toEqual([]);
      });
    }
  },
);
