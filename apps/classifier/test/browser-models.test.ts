/**
 * ViT-Tiny and BERT in real Chromium, on WASM and on WebGPU (SwiftShader, a software Vulkan adapter, where a
 * machine has no GPU): the page loads the fixture models by URLs relative to it, and its ViT logits and BERT
 * last hidden states equal Hugging Face's (the gold Node is also checked against) to 1e-4. 100 in-page calls
 * leave no tensor behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { CHROMIUM, chromiumArgs, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from './browser-bundle.js';

const requireWebGPU = process.env.CI === 'true' && process.env.ATTN_REQUIRE_WEBGPU === '1';

const PAGE = `
import { initBackend, tf } from '@attn/core-tensor';
import { ViTForImageClassification, ViTImageProcessor, pipeline as vitPipeline } from '@attn/vit';
import { BertModel, pipeline as bertPipeline } from '@attn/bert';
import { BertTokenizer } from '@attn/text-tokenizer';
window.attn = {
  // Two pipelines created at once, as a page that loads its models together does: one backend for both.
  async together(image, text) {
    const [classify, extract] = await Promise.all([
      vitPipeline('image-classification', './models/vit/'),
      bertPipeline('feature-extraction', './models/bert/'),
    ]);
    const blob = await (await fetch('/images/' + image)).blob();
    const top = await classify(blob, { top_k: 1 });
    const hidden = await extract(text);
    const out = { devices: [classify.device.device, extract.device.device], backend: tf.getBackend(), top, lastHidden: Array.from(hidden.data) };
    await classify.dispose();
    await extract.dispose();
    return out;
  },
  async run(backend, image, text) {
    let info;
    try {
      info = await initBackend(backend);
    } catch (e) {
      return { unavailable: String(e) };
    }
    const proc = await ViTImageProcessor.fromPretrained('./models/vit');
    const vit = await ViTForImageClassification.fromPretrained('./models/vit/');
    const blob = await (await fetch('/images/' + image)).blob();
    const classify = async () => {
      const { pixelValues } = await proc.preprocess(blob);
      const { logits } = vit.forward(pixelValues);
      const values = Array.from(await logits.data());
      tf.dispose([pixelValues, logits]);
      return values;
    };
    const tok = await BertTokenizer.fromPretrained('./models/bert');
    const bert = await BertModel.fromPretrained('./models/bert');
    const ids = tok.encode(text).inputIds;
    const hidden = async () => {
      const out = bert.forward({ inputIds: [ids] });
      const values = Array.from(await out.lastHiddenState.data());
      tf.dispose(Object.values(out));
      return values;
    };
    const logits = await classify();
    const lastHidden = await hidden();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      await classify();
      await hidden();
    }
    const leaked = tf.memory().numTensors - before;
    vit.dispose();
    bert.dispose();
    return { backend: info.name, adapter: info.adapter ?? '', logits, ids, lastHidden, leaked };
  },
};
`;

const FOLDERS: Record<string, string> = { vit: 'vit-tiny-random', bert: 'bert-tiny-random' };

describe.skipIf(!existsSync(CHROMIUM) || !haveFixtures('in-page models'))('ViT and BERT in Chromium', () => {
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const js = (await bundleForBrowser(PAGE, resolve(import.meta.dirname, '..'))).code;
    const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>';
    // tfjs fetches its .wasm from the folder of the page's script by default: served there, nothing copied.
    const wasmDir = resolve(
      import.meta.dirname,
      '../node_modules/@attn/core-tensor/node_modules/@tensorflow/tfjs-backend-wasm/dist',
    );
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (type: string, body: string | Buffer) =>
        res.writeHead(200, { 'content-type': type }).end(body);
      if (path === '/') return send('text/html', html);
      if (path === '/app.js') return send('text/javascript', js);
      const wasm = /^\/(tfjs-backend-wasm[\w-]*\.wasm)$/.exec(path);
      const model = /^\/models\/(\w+)\/([\w.-]+)$/.exec(path);
      const image = /^\/images\/([\w.-]+\.png)$/.exec(path);
      const file = wasm
        ? resolve(wasmDir, wasm[1]!)
        : model && FOLDERS[model[1]!]
          ? fixturePath(FOLDERS[model[1]!]!, model[2]!)
          : image
            ? fixturePath('golden', 'images', image[1]!)
            : undefined;
      if (file && existsSync(file))
        return send(wasm ? 'application/wasm' : 'application/octet-stream', readFileSync(file));
      res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      env: {
        ...process.env,
        VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
      },
      args: chromiumArgs({ webgpu: 'swiftshader' }),
    });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
  });

  it('two pipelines created at once (no GPU: auto is wasm) share one backend and equal the gold', async () => {
    const vitGold = JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8')).images[0];
    const bertGold = JSON.parse(readFileSync(fixturePath('golden', 'bert-tiny-random.json'), 'utf8'))
      .inputs[0];
    const noGpu = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs({ webgpu: false }) });
    const page = await noGpu.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => 'attn' in window);
    const got = (await page.evaluate(
      ([img, text]) =>
        (window as unknown as { attn: { together(...a: string[]): Promise<unknown> } }).attn.together(
          img!,
          text!,
        ),
      [vitGold.image.replace('images/', ''), bertGold.text],
    )) as { devices: string[]; backend: string; top: { score: number }[]; lastHidden: number[] };
    await noGpu.close();
    // Before the starts were serialised, the second saw wasm half-started, fell back to cpu and switched the
    // global backend under the first: "Cannot read properties of undefined (reading 'get')".
    expect(errors).toEqual([]);
    expect(got.devices).toEqual(['wasm', 'wasm']);
    expect(got.backend).toBe('wasm');
    const logits = vitGold.logits[0] as number[];
    const maxLogit = Math.max(...logits);
    const softmaxTop = 1 / logits.reduce((s, l) => s + Math.exp(l - maxLogit), 0);
    expect(Math.abs(got.top[0]!.score - softmaxTop)).toBeLessThan(1e-4);
    const hidden = (bertGold.last_hidden_state[0] as number[][]).flat();
    expect(got.lastHidden).toHaveLength(hidden.length);
    expect(got.lastHidden.reduce((m, v, i) => Math.max(m, Math.abs(v - hidden[i]!)), 0)).toBeLessThan(1e-4);
  });

  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`${backend}: ViT logits and BERT hidden states equal Hugging Face's to 1e-4; 100 calls leak nothing`, async (ctx) => {
      const vitGold = JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8'))
        .images[0];
      const bertGold = JSON.parse(readFileSync(fixturePath('golden', 'bert-tiny-random.json'), 'utf8'))
        .inputs[0];
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/`);
      await page.waitForFunction(() => 'attn' in window);
      const got = (await page.evaluate(
        ([b, img, text]) =>
          (window as unknown as { attn: { run(...a: string[]): Promise<unknown> } }).attn.run(
            b!,
            img!,
            text!,
          ),
        [backend, vitGold.image.replace('images/', ''), bertGold.text],
      )) as {
        unavailable?: string;
        backend: string;
        logits: number[];
        ids: number[];
        lastHidden: number[];
        leaked: number;
      };
      await page.close();
      if (got.unavailable) {
        if (backend === 'webgpu' && !requireWebGPU) return ctx.skip();
        throw new Error(`${backend} did not start in Chromium: ${got.unavailable}`);
      }
      expect(got.backend).toBe(backend);
      const worst = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
      expect(got.logits).toHaveLength(vitGold.logits[0].length);
      expect(worst(got.logits, vitGold.logits[0])).toBeLessThan(1e-4);
      expect(got.ids).toEqual(bertGold.input_ids[0]);
      const hidden = (bertGold.last_hidden_state[0] as number[][]).flat();
      expect(got.lastHidden).toHaveLength(hidden.length);
      expect(worst(got.lastHidden, hidden)).toBeLessThan(1e-4);
      expect(got.leaked).toBe(0);
      expect(errors).toEqual([]);
    });
  }
});
