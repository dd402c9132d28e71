/**
 * The HTTP service (node:http, no framework):
 *   POST /v1/classify-image   multipart/form-data (first file) or raw image bytes; ?top=K&attention=1
 *   POST /v1/classify-text    {"text": "…"} | {"texts": ["…", …]} | text/plain; ?top=K&attention=1
 *   POST /v1/embed            {"text": "…"} | {"texts": ["…", …]}
 *   GET  /healthz             status, backend, models, queue lengths
 *   GET  /                    the web page (web/index.html)
 * Each model sits behind a MicroBatcher: concurrent requests share forward passes, a full queue answers 429,
 * a body over the limit 413, input that is not an image / not JSON / not text 400.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import type { BackendInfo } from '@attn/core-tensor';
import { describeBackend } from '../backend.js';
import {
  type Embedder,
  type ImageClassifier,
  loadEmbedder,
  loadImageClassifier,
  loadTextClassifier,
  type TextClassifier,
} from '../engines.js';
import { errorLine, type Prediction } from '../io.js';
import { appRoot, resolveModel } from '../models.js';
import { renderTokenHeatmap } from '../render/token-heatmap.js';
import { MicroBatcher, QueueFullError } from './batcher.js';
import { HttpError, readJson, readMultipartFile, readRaw } from './body.js';

export interface ServerOptions {
  port: number;
  host: string;
  backend: BackendInfo;
  imageModel?: string;
  textModel?: string;
  /** Largest batch one forward pass takes. */
  maxBatch: number;
  /** How long the first request of a batch waits for others. */
  windowMs: number;
  /** Requests waiting per model beyond which the server answers 429. */
  maxQueue: number;
  maxBodyBytes: number;
  /** Most texts one request may carry. */
  maxTexts?: number;
}

export interface RunningServer {
  port: number;
  url: string;
  server: Server;
  close(): Promise<void>;
}

interface Engines {
  image: ImageClassifier;
  text: TextClassifier;
  embedder: Embedder;
  names: { image: string; text: string };
}

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const MIME: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Server-side time from request to response of a route's last 10,000 requests: p50 / p99 / max on /healthz. */
class LatencyLog {
  private readonly ms = new Float64Array(10_000);
  private n = 0;
  add(ms: number): void {
    this.ms[this.n++ % this.ms.length] = ms;
  }
  summary(): { count: number; p50: number; p99: number; max: number } {
    const xs = Array.from(this.ms.subarray(0, Math.min(this.n, this.ms.length))).sort((a, b) => a - b);
    const at = (q: number) => Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0);
    return { count: this.n, p50: at(0.5), p99: at(0.99), max: Math.round(xs.at(-1) ?? 0) };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

function modelName(spec: string): string {
  return basename(spec);
}

function topK(url: URL, fallback = 5): number {
  const raw = url.searchParams.get('top');
  if (raw === null) return fallback;
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1 || k > 1000)
    throw new HttpError(400, `top must be an integer from 1 to 1000, got "${raw}"`);
  return k;
}

function dataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** `{"text"}` / `{"texts"}` / text/plain → a non-empty list of strings, or 400 naming the problem. */
async function readTexts(
  req: IncomingMessage,
  limit: number,
  maxTexts: number,
): Promise<{ texts: string[]; many: boolean }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('text/plain')) {
    const text = (await readRaw(req, limit)).toString('utf8');
    if (!text.trim()) throw new HttpError(400, 'empty text');
    return { texts: [text], many: false };
  }
  const body = (await readJson(req, limit)) as { text?: unknown; texts?: unknown } | null;
  if (body && typeof body.text === 'string') return { texts: [body.text], many: false };
  if (
    body &&
    Array.isArray(body.texts) &&
    body.texts.length > 0 &&
    body.texts.every((t) => typeof t === 'string')
  ) {
    if (body.texts.length > maxTexts)
      throw new HttpError(413, `at most ${maxTexts} texts per request, got ${body.texts.length}`);
    return { texts: body.texts as string[], many: true };
  }
  throw new HttpError(400, 'body must be {"text": string} or {"texts": [string, …]} (non-empty)');
}

/** Model errors on a single, isolated input are that input's fault: 400 with the model's message. */
async function modelCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof QueueFullError) throw new HttpError(429, `server busy: ${e.message}; retry later`);
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, errorLine(e));
  }
}

export function createApp(engines: Engines, opts: ServerOptions): Server {
  const batch = { maxBatch: opts.maxBatch, windowMs: opts.windowMs, maxQueue: opts.maxQueue };
  const maxTexts = opts.maxTexts ?? 64;
  const imageQueue = new MicroBatcher<{ bytes: Uint8Array; k: number }, Prediction[]>({
    ...batch,
    run: async (items) => {
      const k = Math.max(...items.map((i) => i.k));
      const out = await engines.image.classify(
        items.map((i) => i.bytes),
        k,
      );
      return out.map((p, i) => p.slice(0, items[i].k));
    },
  });
  const textQueue = new MicroBatcher<{ text: string; k: number }, Prediction[]>({
    ...batch,
    run: async (items) => {
      const k = Math.max(...items.map((i) => i.k));
      const out = await engines.text.classify(
        items.map((i) => i.text),
        k,
      );
      return out.map((p, i) => p.slice(0, items[i].k));
    },
  });
  const embedQueue = new MicroBatcher<string, Float32Array>({
    ...batch,
    run: (texts) => engines.embedder.embed(texts),
  });
  const engine = (model: string) => ({ where: 'server', backend: describeBackend(opts.backend), model });
  const pages = Object.fromEntries(
    [...new Set(Object.values(STATIC))].map((f) => [f, readFileSync(resolve(appRoot, 'web', f))]),
  );

  async function classifyImage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const k = topK(url);
    const type = req.headers['content-type'] ?? '';
    const bytes = type.startsWith('multipart/form-data')
      ? (await readMultipartFile(req, opts.maxBodyBytes)).bytes
      : await readRaw(req, opts.maxBodyBytes);
    if (bytes.length === 0) throw new HttpError(400, 'empty body: send the image bytes or a multipart file');
    const predictions = await modelCall(imageQueue.submit({ bytes, k }));
    const attention =
      url.searchParams.get('attention') === '1'
        ? dataUrl(await engines.image.attentionPng(bytes))
        : undefined;
    send(res, 200, { predictions, attention, engine: engine(engines.names.image) });
  }

  async function classifyText(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const k = topK(url);
    const { texts, many } = await readTexts(req, opts.maxBodyBytes, maxTexts);
    const results = await modelCall(Promise.all(texts.map((text) => textQueue.submit({ text, k }))));
    if (many) {
      send(res, 200, {
        results: texts.map((input, i) => ({ input, predictions: results[i] })),
        engine: engine(engines.names.text),
      });
      return;
    }
    let attention: string | undefined;
    if (url.searchParams.get('attention') === '1') {
      const att = await modelCall(engines.text.attention(texts[0]));
      attention = dataUrl(
        await renderTokenHeatmap(att.tokens, att.weights, { title: `layer ${att.layer}, mean over heads` }),
      );
    }
    send(res, 200, { predictions: results[0], attention, engine: engine(engines.names.text) });
  }

  async function embed(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { texts } = await readTexts(req, opts.maxBodyBytes, maxTexts);
    const vectors = await modelCall(Promise.all(texts.map((t) => embedQueue.submit(t))));
    send(res, 200, {
      embeddings: vectors.map((v) => Array.from(v)),
      dim: vectors[0].length,
      engine: engine(engines.names.text),
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const page = STATIC[url.pathname];
    if (req.method === 'GET' && page) {
      res.writeHead(200, { 'content-type': MIME[page.split('.').pop()!] });
      res.end(pages[page]);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/healthz') {
      send(res, 200, {
        status: 'ok',
        backend: describeBackend(opts.backend),
        fallbackReason: opts.backend.fallbackReason,
        models: engines.names,
        waiting: { image: imageQueue.waiting, text: textQueue.waiting, embed: embedQueue.waiting },
        batches: { image: imageQueue.stats, text: textQueue.stats, embed: embedQueue.stats },
        latencyMs: Object.fromEntries([...latency].map(([path, log]) => [path, log.summary()])),
      });
      return;
    }
    const handlers: Record<string, () => Promise<void>> = {
      '/v1/classify-image': () => classifyImage(req, res, url),
      '/v1/classify-text': () => classifyText(req, res, url),
      '/v1/embed': () => embed(req, res),
    };
    const handler = handlers[url.pathname];
    if (!handler) throw new HttpError(404, `no route ${url.pathname}`);
    if (req.method !== 'POST') throw new HttpError(405, `${url.pathname} takes POST`);
    await handler();
  }

  const latency = new Map<string, LatencyLog>();
  const server = createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (!path.startsWith('/v1/')) return;
      if (!latency.has(path)) latency.set(path, new LatencyLog());
      latency.get(path)!.add(performance.now() - started);
    });
    route(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) console.error(`attn serve: ${req.method} ${req.url}: ${errorLine(e)}`);
      // An unread oversize body: answer, then close the connection rather than read the rest.
      if (status === 413) res.setHeader('connection', 'close');
      if (!res.headersSent)
        send(res, status, { error: status === 500 ? 'internal error' : (e as Error).message });
      else res.end();
    });
  });
  return server;
}

/** Loads the models (built-in unless named) and listens. `port: 0` picks a free port. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const imageSpec = resolveModel(opts.imageModel, 'image-classification');
  const textSpec = resolveModel(opts.textModel, 'text-classification');
  const engines: Engines = {
    image: await loadImageClassifier(imageSpec),
    text: await loadTextClassifier(textSpec),
    embedder: await loadEmbedder(textSpec, { pooling: 'mean', normalize: true }),
    names: { image: modelName(imageSpec), text: modelName(textSpec) },
  };
  const server = createApp(engines, opts);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${opts.host}:${port}`,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => {
          engines.image.dispose();
          engines.text.dispose();
          engines.embedder.dispose();
          done();
        });
      }),
  };
}
