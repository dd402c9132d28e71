/**
 * The HTTP service (node:http, no framework):
 *   POST /v1/classify-image   multipart/form-data (first file) or raw image bytes; ?top=K&attention=1
 *   POST /v1/classify-text    {"text": "…"} | {"texts": ["…", …]} | text/plain; ?top=K&attention=1
 *   POST /v1/embed            {"text": "…"} | {"texts": ["…", …]}
 *   GET  /healthz             status, backend, models, queue lengths
 *   GET  /                    the web page (web/index.html), which runs the built-in models in the browser
 *   GET  /attn-page.js, /*.wasm   its in-browser engine (dist/web/, built by scripts/build-web.mjs)
 *   GET  /models/<name>/<file>    the files of the built-in models the page runs (static.ts's allow-list)
 * Each model sits behind a MicroBatcher: concurrent requests share forward passes, a full queue answers 429,
 * a body over the limit 413, input that is not an image / not JSON / not text 400.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { basename } from 'node:path';
import type { BackendInfo, Device, DType } from '@attn/core-tensor';
import { tokenAttentionTitle } from '../attention-maps.js';
import { describeBackend } from '../backend.js';
import {
  describeText,
  type Embedder,
  type ImageClassifier,
  loadEmbedder,
  loadImageClassifier,
  loadTextClassifier,
  NonFiniteOutputError,
  type TextClassifier,
} from '../engines.js';
import { errorLine, type Prediction } from '../io.js';
import { resolveModel } from '../models.js';
import { renderTokenHeatmap } from '../render/token-heatmap.js';
import { MicroBatcher, QueueFullError } from './batcher.js';
import { HttpError, readJson, readMultipartFile, readRaw } from './body.js';
import { Semaphore } from './semaphore.js';
import { haveEngine, pageModelUrl, readStatic, staticFile } from './static.js';

export interface ServerOptions {
  port: number;
  host: string;
  backend: BackendInfo;
  /** Where the models run (default: `backend`, the tfjs backend given; `attn serve` passes --device). */
  device?: Device;
  /** Weight precision of the server's pipelines (default fp32); /healthz reports it and the page asks for it. */
  dtype?: DType;
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
  /** Open connections beyond which new ones are dropped (node's server.maxConnections). Default 1024. */
  maxConnections?: number;
  /**
   * A connection that has not sent its request headers within this time is closed (default 10 s), so slow or
   * idle clients cannot hold every one of the `maxConnections`. The whole request gets 6 times as long.
   */
  headersTimeoutMs?: number;
  /** Host names, besides localhost, IP addresses and `host`, that the Host header may carry. */
  allowedHosts?: string[];
  /** Origins (scheme://host[:port]) other pages may call the API from; they get CORS headers. */
  cors?: string[];
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
  /** The model folder URLs (relative to the page) of the models the page can run itself: built-ins only. */
  page?: { image?: string; text?: string };
}

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

/** A text with nothing but whitespace has nothing to classify: any answer would be the model's bias alone. */
function checkNotBlank(text: string, field: string): void {
  if (!text.trim()) throw new HttpError(400, `${field} is empty or only whitespace`);
}

/**
 * `{"text"}` / `{"texts"}` / text/plain → a non-empty list of strings, or 400 naming the problem. JSON must say
 * application/json: a form-encoded or untyped body is what a cross-site form sends without a CORS preflight.
 */
async function readTexts(
  req: IncomingMessage,
  limit: number,
  maxTexts: number,
): Promise<{ texts: string[]; many: boolean }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('text/plain')) {
    const text = (await readRaw(req, limit)).toString('utf8');
    checkNotBlank(text, 'text (the text/plain body)');
    return { texts: [text], many: false };
  }
  if (!type.startsWith('application/json'))
    throw new HttpError(415, `content-type must be application/json or text/plain, got "${type}"`);
  const body = (await readJson(req, limit)) as { text?: unknown; texts?: unknown } | null;
  if (body && typeof body.text === 'string') {
    checkNotBlank(body.text, 'text');
    return { texts: [body.text], many: false };
  }
  if (
    body &&
    Array.isArray(body.texts) &&
    body.texts.length > 0 &&
    body.texts.every((t) => typeof t === 'string')
  ) {
    if (body.texts.length > maxTexts)
      throw new HttpError(413, `at most ${maxTexts} texts per request, got ${body.texts.length}`);
    for (const [i, t] of (body.texts as string[]).entries()) checkNotBlank(t, `texts[${i}]`);
    return { texts: body.texts as string[], many: true };
  }
  throw new HttpError(400, 'body must be {"text": string} or {"texts": [string, …]} (non-empty)');
}

/** The request's URL; undefined for a target `new URL` refuses (`//[`), which must be a 400, not a throw. */
function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** Names that cannot be rebound by DNS: IP literals and localhost. */
function isLocalOrIp(hostname: string): boolean {
  return hostname === 'localhost' || isIP(hostname.replace(/^\[|\]$/g, '')) !== 0;
}

/** The host name of a Host header value ("name:port", "[::1]:port"), lower-cased. */
function hostnameOf(host: string): string {
  return host.toLowerCase().replace(/:\d+$/, '');
}

/** Model errors on a single, isolated input are that input's fault: 400 with the model's message. */
async function modelCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof QueueFullError) throw new HttpError(429, `server busy: ${e.message}; retry later`);
    if (e instanceof HttpError) throw e;
    // NaN out of the model is the model's fault, not the input's: 500, and the scores are never sent.
    if (e instanceof NonFiniteOutputError) throw new HttpError(500, errorLine(e));
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
  // Requests carry their token ids (tokenized once, on arrival), so the batcher can sort them by length.
  const embedQueue = new MicroBatcher<{ text: string; ids: number[] }, Float32Array>({
    ...batch,
    run: (items) =>
      engines.embedder.embedTokens(
        items.map((i) => i.ids),
        (i) => describeText(items[i].text),
      ),
    length: (item) => item.ids.length,
  });
  // Each model says which engine its pipeline runs on (with --device auto they may differ from the tfjs backend).
  const engine = (model: string, device?: string) => ({
    where: 'server',
    backend: device ?? describeBackend(opts.backend),
    model,
  });
  /**
   * Requests whose body is being read count against their queue, so a full queue refuses the next one before
   * reading (and buffering, and parsing) its body: the body is discarded unread instead.
   */
  const reading = new Map<object, number>();
  // One attention picture at a time (each holds every layer's attention): a second waits, a flood gets 429.
  const attentionGate = new Semaphore(1, opts.maxQueue);
  async function withRoom<T>(
    req: IncomingMessage,
    queue: { readonly waiting: number },
    read: () => Promise<T>,
  ): Promise<T> {
    const busy = reading.get(queue) ?? 0;
    if (queue.waiting + busy >= opts.maxQueue) {
      req.resume();
      throw new HttpError(429, `server busy: queue full (${opts.maxQueue} waiting); retry later`);
    }
    reading.set(queue, busy + 1);
    try {
      return await read();
    } finally {
      reading.set(queue, (reading.get(queue) ?? 1) - 1);
    }
  }
  const allowedHosts = new Set(
    [opts.host, ...(opts.allowedHosts ?? [])].map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')),
  );
  const corsOrigins = new Set(opts.cors ?? []);

  async function classifyImage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const k = topK(url);
    const type = req.headers['content-type'] ?? '';
    const bytes = await withRoom(req, imageQueue, async () =>
      type.startsWith('multipart/form-data')
        ? (await readMultipartFile(req, opts.maxBodyBytes)).bytes
        : await readRaw(req, opts.maxBodyBytes),
    );
    if (bytes.length === 0) throw new HttpError(400, 'empty body: send the image bytes or a multipart file');
    const predictions = await modelCall(imageQueue.submit({ bytes, k }));
    const attention =
      url.searchParams.get('attention') === '1'
        ? dataUrl(await modelCall(attentionGate.run(() => engines.image.attentionPng(bytes))))
        : undefined;
    send(res, 200, { predictions, attention, engine: engine(engines.names.image, engines.image.device) });
  }

  async function classifyText(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const k = topK(url);
    const { texts, many } = await withRoom(req, textQueue, () => readTexts(req, opts.maxBodyBytes, maxTexts));
    const results = await modelCall(Promise.all(texts.map((text) => textQueue.submit({ text, k }))));
    if (many) {
      send(res, 200, {
        results: texts.map((input, i) => ({ input, predictions: results[i] })),
        engine: engine(engines.names.text, engines.text.device),
      });
      return;
    }
    let attention: string | undefined;
    if (url.searchParams.get('attention') === '1') {
      const att = await modelCall(attentionGate.run(() => engines.text.attention(texts[0])));
      attention = dataUrl(
        await renderTokenHeatmap(att.tokens, att.weights, { title: tokenAttentionTitle(att) }),
      );
    }
    send(res, 200, {
      predictions: results[0],
      attention,
      engine: engine(engines.names.text, engines.text.device),
    });
  }

  async function embed(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { texts } = await withRoom(req, embedQueue, () => readTexts(req, opts.maxBodyBytes, maxTexts));
    const vectors = await modelCall(
      (async () =>
        Promise.all(texts.map((t) => embedQueue.submit({ text: t, ids: engines.embedder.tokenize(t) }))))(),
    );
    send(res, 200, {
      embeddings: vectors.map((v) => Array.from(v)),
      dim: vectors[0].length,
      engine: engine(engines.names.text, engines.text.device),
    });
  }

  /**
   * DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches this server with
   * `Host: evil.example`. Only names that cannot be rebound, the bound host and names the user allowed pass.
   */
  function checkHost(req: IncomingMessage): string {
    const host = req.headers.host;
    if (!host) throw new HttpError(400, 'request has no Host header');
    const name = hostnameOf(host);
    if (!isLocalOrIp(name) && !allowedHosts.has(name.replace(/^\[|\]$/g, '')))
      throw new HttpError(
        403,
        `Host "${host}" is not served here (attn serve --allowed-host ${name} allows it)`,
      );
    return host;
  }

  /**
   * A page of another origin may send simple POSTs (form, text/plain) without asking first: only this
   * server's own origin and the --cors origins may call the API; the latter get CORS headers.
   */
  function checkOrigin(req: IncomingMessage, res: ServerResponse, host: string): void {
    const origin = req.headers.origin;
    if (origin === undefined || origin === `http://${host}`) return;
    if (!corsOrigins.has(origin))
      throw new HttpError(
        403,
        `Origin "${origin}" may not call this API (attn serve --cors ${origin} allows it)`,
      );
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL | undefined): Promise<void> {
    if (!url) throw new HttpError(400, `request target ${JSON.stringify(req.url)} is not a valid URL path`);
    const host = checkHost(req);
    if (req.method === 'POST' || req.method === 'OPTIONS') checkOrigin(req, res, host);
    if (req.method === 'OPTIONS') {
      // Reaching here means the origin is allowed (or the request is same-origin): the preflight answer.
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, HEAD, POST, OPTIONS',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    // HEAD is GET without the body: node's ServerResponse drops the body of a HEAD answer itself.
    const get = req.method === 'GET' || req.method === 'HEAD';
    const file = get ? staticFile(url.pathname) : undefined;
    const bytes = file && readStatic(file);
    if (file && bytes) {
      res.writeHead(200, { 'content-type': file.type, 'content-length': bytes.length });
      res.end(bytes);
      return;
    }
    if (get && url.pathname === '/healthz') {
      send(res, 200, {
        status: 'ok',
        backend: engines.text.device ?? describeBackend(opts.backend),
        devices: { image: engines.image.device, text: engines.text.device, embed: engines.embedder.device },
        dtype: opts.dtype ?? 'fp32',
        fallbackReason: opts.backend.fallbackReason,
        models: engines.names,
        // The page runs a model itself when its folder is served here and the engine is built.
        page: haveEngine() ? { image: engines.page?.image ?? null, text: engines.page?.text ?? null } : null,
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
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS');
      throw new HttpError(405, `${url.pathname} takes POST`);
    }
    await handler();
  }

  const latency = new Map<string, LatencyLog>();
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: 6 * headersTimeout,
      // node checks the two timeouts this often (default 30 s, longer than the timeout itself)
      connectionsCheckingInterval: Math.min(1000, headersTimeout / 2),
    },
    (req, res) => {
      const started = performance.now();
      const url = requestUrl(req);
      res.on('finish', () => {
        const path = url?.pathname;
        if (!path?.startsWith('/v1/')) return;
        if (!latency.has(path)) latency.set(path, new LatencyLog());
        latency.get(path)!.add(performance.now() - started);
      });
      route(req, res, url).catch((e: unknown) => {
        const status = e instanceof HttpError ? e.status : 500;
        if (status === 500) console.error(`attn serve: ${req.method} ${req.url}: ${errorLine(e)}`);
        // An unread oversize body: answer, then close the connection rather than read the rest.
        if (status === 413) res.setHeader('connection', 'close');
        // Refused before its body was read: the body is discarded, not parsed.
        if (status === 403 || status === 415) req.resume();
        if (!res.headersSent)
          send(res, status, { error: e instanceof HttpError ? e.message : 'internal error' });
        else res.end();
      });
    },
  );
  server.maxConnections = opts.maxConnections ?? 1024;
  return server;
}

/** Loads the models (built-in unless named) and listens. `port: 0` picks a free port. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const imageSpec = resolveModel(opts.imageModel, 'image-classification');
  const textSpec = resolveModel(opts.textModel, 'text-classification');
  const device = opts.device ?? opts.backend.name;
  const engines: Engines = {
    image: await loadImageClassifier(imageSpec, device, opts.dtype),
    text: await loadTextClassifier(textSpec, device, opts.dtype),
    embedder: await loadEmbedder(textSpec, { pooling: 'mean', normalize: true, device, dtype: opts.dtype }),
    names: { image: modelName(imageSpec), text: modelName(textSpec) },
    page: { image: pageModelUrl(imageSpec), text: pageModelUrl(textSpec) },
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
