/**
 * The server under hostile or broken requests (issue #16): truncated uploads, a full queue, too many
 * connections, foreign Host and Origin headers, blank texts and a model that outputs NaN. After each one the
 * server must still answer.
 */
import { connect } from 'node:net';
import { initBackend } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTextClassifier } from '../src/engines.js';
import { type RunningServer, type ServerOptions, startServer } from '../src/server/app.js';
import { nanBertModel } from './helpers.js';

/** Sends raw bytes on a fresh socket, optionally half-closing it, and returns what came back until close. */
function raw(
  port: number,
  data: string | Buffer,
  opts: { end?: boolean; waitMs?: number } = {},
): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), opts.waitMs ?? 3000);
    socket.on('data', (d) => parts.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      done(Buffer.concat(parts).toString('utf8'));
    });
    socket.on('connect', () => {
      socket.write(data);
      if (opts.end) socket.end();
    });
    socket.on('timeout', fail);
  });
}

/** A multipart body that stops inside the file part: no closing boundary. */
function truncatedMultipart(port: number): string {
  const boundary = '----attnboundary';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n` +
    'Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n0123456789';
  return (
    `POST /v1/classify-image HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n` +
    `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const statusOf = (response: string) => Number(response.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);

describe.skipIf(!haveFixtures('classifier server hardening tests'))('attn serve under bad requests', () => {
  let server: RunningServer;
  let base: ServerOptions;
  const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const healthy = async () => expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

  beforeAll(async () => {
    base = {
      port: 0,
      host: '127.0.0.1',
      backend: await initBackend('wasm'),
      imageModel: fixturePath('vit-tiny-random'),
      textModel: fixturePath('bert-tiny-random'),
      maxBatch: 4,
      windowMs: 5,
      maxQueue: 8,
      maxBodyBytes: 64 * 1024,
    };
    server = await startServer({ ...base, allowedHosts: ['attn.internal'], cors: ['https://app.example'] });
  });
  afterAll(() => server?.close());

  it('answers a multipart upload cut off inside the file with 400, and keeps serving', async () => {
    const answer = await raw(server.port, truncatedMultipart(server.port));
    expect(statusOf(answer)).toBe(400);
    expect(answer).toMatch(/bad multipart request: Unexpected end of form/);
    await healthy();
  });

  it('survives a client that hangs up in the middle of the body', async () => {
    const cut = truncatedMultipart(server.port).replace(/Content-Length: \d+/, 'Content-Length: 5000');
    await raw(server.port, cut, { end: true, waitMs: 500 });
    const chunked = truncatedMultipart(server.port)
      .replace(/Content-Length: \d+/, 'Transfer-Encoding: chunked')
      .replace(
        /\r\n\r\n(--[\s\S]*)$/,
        (_, body: string) => `\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      );
    expect(statusOf(await raw(server.port, chunked))).toBe(400);
    await healthy();
  });

  it('answers a request target that is not a URL with 400', async () => {
    for (const target of ['//[', 'http://[']) {
      const r = await raw(
        server.port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(r)).toBe(400);
      expect(r).toMatch(/is not a valid URL path/);
    }
    await healthy();
  });

  it('checks the Host header against DNS rebinding', async () => {
    const get = (host: string) =>
      raw(server.port, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const evil = await get('evil.example');
    expect(statusOf(evil)).toBe(403);
    expect(evil).toMatch(/Host \\"evil.example\\" is not served here/);
    expect(statusOf(await get(`evil.example:${server.port}`))).toBe(403);
    for (const ok of [
      `localhost:${server.port}`,
      `127.0.0.1:${server.port}`,
      '[::1]',
      'attn.internal',
      'ATTN.internal:80',
    ])
      expect(statusOf(await get(ok))).toBe(200);
  });

  it('refuses cross-origin POSTs unless --cors allows the origin, and answers its preflight', async () => {
    const body = 'a cross-site form post';
    const foreign = await post('/v1/classify-text', body, {
      'content-type': 'text/plain',
      origin: 'https://evil.example',
    });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toMatch(
      /Origin "https:\/\/evil.example" may not/,
    );
    const form = await post('/v1/classify-text', 'text=hi', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    const same = await post('/v1/classify-text', body, { 'content-type': 'text/plain', origin: server.url });
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await post('/v1/classify-text', JSON.stringify({ text: body }), {
      origin: 'https://app.example',
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const preflight = await fetch(`${server.url}/v1/embed`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
    const refused = await fetch(`${server.url}/v1/embed`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    });
    expect(refused.status).toBe(403);
  });

  it('answers HEAD like GET without a body', async () => {
    const page = await raw(server.port, `HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(statusOf(page)).toBe(200);
    expect(page).toMatch(/content-type: text\/html/i);
    expect(page.split('\r\n\r\n')[1]).toBe('');
    expect((await fetch(`${server.url}/healthz`, { method: 'HEAD' })).status).toBe(200);
    const head = await fetch(`${server.url}/v1/embed`, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('rejects empty and whitespace-only texts with 400 naming the field', async () => {
    const error = async (r: Response) => [r.status, ((await r.json()) as { error: string }).error];
    expect(await error(await post('/v1/classify-text', JSON.stringify({ text: '' })))).toEqual([
      400,
      'text is empty or only whitespace',
    ]);
    expect(await error(await post('/v1/embed', JSON.stringify({ texts: ['fine', ' \n\t'] })))).toEqual([
      400,
      'texts[1] is empty or only whitespace',
    ]);
    expect(await error(await post('/v1/classify-text', '  ', { 'content-type': 'text/plain' }))).toEqual([
      400,
      'text (the text/plain body) is empty or only whitespace',
    ]);
  });

  it('classifies a 10 MB text as fast as its first 128 tokens', async () => {
    const model = await loadTextClassifier(fixturePath('bert-tiny-random'));
    try {
      const head = 'the movie was fine, '.repeat(40);
      await model.classify(['warm up the kernels'], 3);
      const started = performance.now();
      const [big] = await model.classify([head + 'and then it went on '.repeat(500_000)], 3);
      expect(performance.now() - started).toBeLessThan(400);
      const [small] = await model.classify([head], 3);
      expect(big).toEqual(small); // the first 126 tokens lie inside `head`
    } finally {
      model.dispose();
    }
  });

  it('refuses a request before reading its body when the queue is full', async () => {
    const slow = await startServer({ ...base, maxQueue: 1, windowMs: 1500 });
    try {
      const first = fetch(`${slow.url}/v1/embed`, {
        method: 'POST',
        body: JSON.stringify({ text: 'waits for its batch' }),
        headers: { 'content-type': 'application/json' },
      });
      await new Promise((r) => setTimeout(r, 300));
      // Headers only: the body never comes, so an answer at all means the server did not wait to read it.
      const started = performance.now();
      const second = await raw(
        slow.port,
        `POST /v1/embed HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`,
        { waitMs: 1000 },
      );
      expect(statusOf(second)).toBe(429);
      expect(performance.now() - started).toBeLessThan(900);
      expect((await first).status).toBe(200);
    } finally {
      await slow.close();
    }
  });

  it('caps the number of open connections', async () => {
    const capped = await startServer({ ...base, maxConnections: 2 });
    const idle = [connect(capped.port, '127.0.0.1'), connect(capped.port, '127.0.0.1')];
    try {
      await Promise.all(idle.map((s) => new Promise((r) => s.on('connect', r))));
      await new Promise((r) => setTimeout(r, 100));
      const third = await raw(
        capped.port,
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
      expect(third).toBe(''); // dropped without an answer
      for (const s of idle) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const after = await raw(
        capped.port,
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
      expect(statusOf(after)).toBe(200);
    } finally {
      for (const s of idle) s.destroy();
      await capped.close();
    }
  });

  it('closes a connection that sends no request headers in time, freeing its place', async () => {
    const capped = await startServer({ ...base, maxConnections: 1, headersTimeoutMs: 400 });
    try {
      const started = performance.now();
      // half a request line, then silence: a slowloris client
      await raw(capped.port, 'GET /healthz HT', { waitMs: 5000 });
      expect(performance.now() - started).toBeLessThan(2500);
      const after = await raw(
        capped.port,
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
      expect(statusOf(after)).toBe(200);
    } finally {
      await capped.close();
    }
  });

  it('answers 500 with a JSON error, never NaN, when the model outputs NaN', async () => {
    const broken = await startServer({ ...base, textModel: nanBertModel() });
    try {
      for (const path of ['/v1/classify-text', '/v1/embed']) {
        const r = await fetch(`${broken.url}${path}`, {
          method: 'POST',
          body: JSON.stringify({ text: 'hello world' }),
          headers: { 'content-type': 'application/json' },
        });
        expect(r.status).toBe(500);
        const text = await r.text();
        expect(text).not.toMatch(/NaN[^ ]/);
        expect(JSON.parse(text).error).toMatch(
          /NonFiniteOutputError: model .*attn-nan-bert-.* gave NaN or Infinity for the text "hello world"/,
        );
      }
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
