/** The HTTP service on the fixture models: answers checked against the goldens, and the 400/413/429 paths. */
import { readFileSync } from 'node:fs';
import { initBackend } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/server/app.js';
import { expectClose, golden, ranked } from './helpers.js';

type Pred = { label: string; score: number };
// biome-ignore lint/suspicious/noExplicitAny: golden JSON of many shapes, read field by field
type Gold = Record<string, any>;

describe.skipIf(!haveFixtures('classifier server tests'))('attn serve', () => {
  let server: RunningServer;
  const vitGold = golden<{ images: { image: string; logits: number[][] }[] }>('vit-tiny-random.json').images;
  const bertGold = golden<{ inputs: Gold[] }>('bert-tiny-random.json').inputs;
  const png = readFileSync(fixturePath('golden', vitGold[0].image));
  const post = (path: string, body: BodyInit, type = 'application/json') =>
    fetch(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': type } });

  beforeAll(async () => {
    const backend = await initBackend('wasm');
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      backend,
      imageModel: fixturePath('vit-tiny-random'),
      textModel: fixturePath('bert-tiny-random'),
      maxBatch: 4,
      windowMs: 40,
      maxQueue: 3,
      maxBodyBytes: 64 * 1024,
    });
  });
  afterAll(() => server?.close());

  it('GET /healthz and the web page', async () => {
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({
      status: 'ok',
      backend: 'wasm',
      models: { image: 'vit-tiny-random', text: 'bert-tiny-random' },
    });
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect((await fetch(`${server.url}/app.js`)).status).toBe(200);
  });

  it('POST /v1/classify-image with raw bytes and with multipart gives the golden predictions', async () => {
    const want = ranked(vitGold[0].logits[0], ['cat', 'dog', 'car', 'cup', 'rocket'], 3);
    const raw = await post('/v1/classify-image?top=3', png, 'image/png');
    expect(raw.status).toBe(200);
    const a = (await raw.json()) as { predictions: Pred[]; engine: Record<string, string> };
    expect(a.engine).toEqual({ where: 'server', backend: 'wasm', model: 'vit-tiny-random' });
    expect(a.predictions.map((p) => p.label)).toEqual(want.map((p) => p.label));
    expectClose(
      a.predictions.map((p) => p.score),
      want.map((p) => p.score),
      1e-4,
      'raw',
    );
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'gradient.png');
    const multi = await fetch(`${server.url}/v1/classify-image?top=3`, { method: 'POST', body: form });
    expect(multi.status).toBe(200);
    expect(((await multi.json()) as { predictions: Pred[] }).predictions).toEqual(a.predictions);
  });

  it('POST /v1/classify-text, one text or many, gives the golden predictions', async () => {
    const labels = ['negative', 'neutral', 'positive'];
    const one = (await (
      await post('/v1/classify-text?top=3', JSON.stringify({ text: bertGold[0].text }))
    ).json()) as {
      predictions: Pred[];
    };
    expectClose(
      one.predictions.map((p) => p.score),
      ranked(bertGold[0].seq_cls_logits[0], labels, 3).map((p) => p.score),
      1e-4,
      'one',
    );
    const texts: string[] = bertGold[5].texts;
    const many = (await (await post('/v1/classify-text?top=1', JSON.stringify({ texts }))).json()) as {
      results: { input: string; predictions: Pred[] }[];
    };
    expect(many.results.map((r) => r.input)).toEqual(texts);
    expect(many.results.map((r) => r.predictions[0].label)).toEqual(
      bertGold[5].seq_cls_logits.map((l: number[]) => ranked(l, labels, 1)[0].label),
    );
  });

  it('POST /v1/embed gives L2-normalised mean-pooled vectors', async () => {
    const r = (await (await post('/v1/embed', JSON.stringify({ texts: [bertGold[0].text] }))).json()) as {
      embeddings: number[][];
      dim: number;
    };
    expect(r.dim).toBe(32);
    const hidden: number[][] = bertGold[0].last_hidden_state[0];
    const mean = hidden[0].map((_, h) => hidden.reduce((s, t) => s + t[h], 0) / hidden.length);
    const norm = Math.hypot(...mean);
    expectClose(
      r.embeddings[0],
      mean.map((x) => x / norm),
      1e-4,
      'embedding',
    );
  });

  it('asks for the attention picture as a PNG data URL', async () => {
    const img = (await (await post('/v1/classify-image?attention=1', png, 'image/png')).json()) as {
      attention: string;
    };
    expect(img.attention).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    const txt = (await (
      await post('/v1/classify-text?attention=1', JSON.stringify({ text: 'hello world' }))
    ).json()) as {
      attention: string;
    };
    expect(txt.attention).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  });

  it('answers garbage with 400 naming the problem', async () => {
    const notImage = await post(
      '/v1/classify-image',
      Buffer.from('definitely not an image'),
      'application/octet-stream',
    );
    expect(notImage.status).toBe(400);
    expect(((await notImage.json()) as { error: string }).error).toMatch(/ImageInputError/);
    expect((await post('/v1/classify-image', Buffer.alloc(0), 'image/png')).status).toBe(400);
    const badJson = await post('/v1/classify-text', '{"text": ');
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: string }).error).toMatch(/not valid JSON/);
    expect((await post('/v1/classify-text', JSON.stringify({ txt: 'typo' }))).status).toBe(400);
    expect((await post('/v1/embed', JSON.stringify({ texts: [1, 2] }))).status).toBe(400);
    expect((await post('/v1/classify-image?top=0', png, 'image/png')).status).toBe(400);
    const noFile = new FormData();
    noFile.append('note', 'no file here');
    expect((await fetch(`${server.url}/v1/classify-image`, { method: 'POST', body: noFile })).status).toBe(
      400,
    );
    expect((await fetch(`${server.url}/v1/nothing`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/classify-text`)).status).toBe(405);
  });

  it('answers bodies over the limit with 413, raw or multipart', async () => {
    const big = Buffer.alloc(65 * 1024, 1);
    const raw = await post('/v1/classify-image', big, 'application/octet-stream');
    expect(raw.status).toBe(413);
    expect(((await raw.json()) as { error: string }).error).toBe('request body larger than 65536 bytes');
    const form = new FormData();
    form.append('image', new Blob([Buffer.alloc(80 * 1024, 1)]), 'big.png');
    expect((await fetch(`${server.url}/v1/classify-image`, { method: 'POST', body: form })).status).toBe(413);
    expect((await post('/v1/classify-text', JSON.stringify({ text: 'x'.repeat(70 * 1024) }))).status).toBe(
      413,
    );
  });

  it('answers 429 when the queue is full, serves the rest, and stays healthy', async () => {
    const body = JSON.stringify({ text: bertGold[0].text });
    const statuses = await Promise.all(
      Array.from({ length: 24 }, () => post('/v1/classify-text', body).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await post('/v1/classify-text', body)).status).toBe(200);
  });
});
