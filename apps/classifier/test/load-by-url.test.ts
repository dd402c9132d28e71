/**
 * Every loader takes the http(s) URL of a Hugging Face model folder, here served from 127.0.0.1: in Node the
 * folder is downloaded once into the cache (a trailing slash names the same folder), then read as a local one.
 * HTTP errors and unreachable hosts are PretrainedErrors naming the URL and the status.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { BertModel, pipeline as textPipeline } from '@attn/bert';
import { initBackend, PretrainedError, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { BertTokenizer } from '@attn/text-tokenizer';
import { pipeline as imagePipeline, ViTForImageClassification, ViTImageProcessor } from '@attn/vit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FOLDERS: Record<string, string> = { vit: 'vit-tiny-random', bert: 'bert-tiny-random' };

describe.skipIf(!haveFixtures('load by URL'))('fromPretrained(url)', () => {
  let server: Server;
  let base: string;
  let cacheDir: string;
  const requests: string[] = [];

  beforeAll(async () => {
    await initBackend('cpu');
    cacheDir = await mkdtemp(join(tmpdir(), 'attn-url-'));
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push(path);
      const m = /^\/models\/(\w+)\/([\w.-]+)$/.exec(path);
      if (path.startsWith('/broken/')) {
        res.writeHead(500).end('boom');
        return;
      }
      try {
        if (!m || !FOLDERS[m[1]!]) throw new Error('no such folder');
        const body = readFileSync(normalize(fixturePath(FOLDERS[m[1]!]!, m[2]!)));
        res.writeHead(200, { 'content-length': body.byteLength }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('ViT and its processor from a folder URL equal HF (logits), once downloaded; a trailing slash changes nothing', async () => {
    const gold = JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8')).images[0];
    const url = `${base}/models/vit`;
    const model = await ViTForImageClassification.fromPretrained(`${url}/`, { cacheDir });
    const proc = await ViTImageProcessor.fromPretrained(url, { cacheDir });
    expect(requests).toContain('/models/vit/config.json');
    expect(requests).toContain('/models/vit/model.safetensors');
    const { pixelValues } = await proc.preprocess(fixturePath('golden', gold.image));
    const logits = model.forward(pixelValues).logits;
    const got = Array.from(await logits.data());
    for (const [i, v] of (gold.logits[0] as number[]).entries())
      expect(Math.abs(got[i]! - v)).toBeLessThan(1e-4);
    tf.dispose([pixelValues, logits]);
    model.dispose();
    // Both spellings name one cached folder: the second load asks the server for nothing.
    const before = requests.length;
    (await ViTForImageClassification.fromPretrained(url, { cacheDir })).dispose();
    expect(requests.length).toBe(before);
  });

  it('pipeline(task, url) reports the downloads and answers as from the folder', async () => {
    const gold = JSON.parse(readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8')).images[0];
    const events: { status: string; file?: string }[] = [];
    const classify = await imagePipeline('image-classification', `${base}/models/vit/`, {
      cacheDir: join(cacheDir, 'fresh'),
      device: 'cpu',
      progress_callback: (e) => events.push(e),
    });
    const [top] = (await classify(fixturePath('golden', gold.image), { top_k: 1 })) as { label: string }[];
    expect(top!.label).toBe(gold.predicted_label);
    const weights = events.filter((e) => e.file === 'model.safetensors').map((e) => e.status);
    expect(weights.slice(0, 2)).toEqual(['initiate', 'download']);
    expect(weights.at(-1)).toBe('done');
    await classify.dispose?.();
  });

  it('BertModel and BertTokenizer from a URL equal the same folder read from disk', async () => {
    const url = `${base}/models/bert/`;
    const fromUrl = await BertModel.fromPretrained(url, { cacheDir });
    const fromDir = await BertModel.fromPretrained(fixturePath('bert-tiny-random'));
    const tok = await BertTokenizer.fromPretrained(url);
    const local = await BertTokenizer.fromPretrained(fixturePath('bert-tiny-random'));
    const ids = tok.encode('hello world, this is a url').inputIds;
    expect(ids).toEqual(local.encode('hello world, this is a url').inputIds);
    const a = fromUrl.forward({ inputIds: [ids] }).lastHiddenState;
    const b = fromDir.forward({ inputIds: [ids] }).lastHiddenState;
    expect(a.shape).toEqual([1, ids.length, fromDir.config.hidden_size]);
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([a, b]);
    fromUrl.dispose();
    fromDir.dispose();
    const extract = await textPipeline('feature-extraction', url, { cacheDir, device: 'cpu' });
    expect(extract).toBeTypeOf('function');
  });

  it('an HTTP error, a missing folder and an unreachable host name the URL and the status', async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e) => e as PretrainedError,
      );
    const http = await err(ViTForImageClassification.fromPretrained(`${base}/broken/vit`, { cacheDir }));
    expect(http).toBeInstanceOf(PretrainedError);
    expect(http).toMatchObject({ code: 'HTTP_ERROR', where: `${base}/broken/vit/config.json` });
    expect(http!.message).toMatch(/HTTP 500/);
    const missing = await err(ViTImageProcessor.fromPretrained(`${base}/models/none`, { cacheDir }));
    expect(missing).toMatchObject({ code: 'NOT_FOUND', where: `${base}/models/none/config.json` });
    expect(missing!.message).toMatch(/HTTP 404/);
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const down = await err(BertModel.fromPretrained(`http://127.0.0.1:${port}/m`, { cacheDir }));
    expect(down).toMatchObject({ code: 'NETWORK', where: `http://127.0.0.1:${port}/m/config.json` });
  });
});
