import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../safetensors/write.js';
import { expectNoLeaks, fixturePath, haveFixtures } from '../testing.js';
import { downloadFile } from './download.js';
import { type DownloadProgress, loadPretrained, PretrainedError, resolvePretrainedDir } from './index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'attn-hub-'));

/** bert-tiny-random as a sentence-transformers repository: Transformer → 1_Pooling (mean) → 2_Normalize. */
function stRepo(): string {
  const repo = tmp();
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt'])
    writeFileSync(join(repo, f), readFileSync(fixturePath('bert-tiny-random', f)));
  writeFileSync(
    join(repo, 'modules.json'),
    JSON.stringify([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]),
  );
  mkdirSync(join(repo, '1_Pooling'));
  writeFileSync(
    join(repo, '1_Pooling', 'config.json'),
    JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true }),
  );
  writeFileSync(join(repo, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 64 }));
  return repo;
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const dispose = (m: Map<string, tf.Tensor>) => {
  for (const t of m.values()) t.dispose();
};

/**
 * A stand-in for the hub: `/{owner}/{name}/resolve/{revision}/{file}` served from local folders.
 * Repository "test/dropped" sends half of model.safetensors and then drops the connection (until healed).
 */
class FakeHub {
  readonly repos = new Map<string, string>();
  readonly requests: string[] = [];
  dropWeights = true;
  private server!: Server;
  endpoint = '';

  async start() {
    this.server = createServer((req, res) => {
      this.requests.push(req.url!);
      // The file may sit in a subfolder, as sentence-transformers' 1_Pooling/config.json does.
      const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url!);
      const dir = m && m[2] === 'main' ? this.repos.get(m[1]!) : undefined;
      const path = dir && join(dir, ...m![3]!.split('/').map(decodeURIComponent));
      if (!path || !existsSync(path)) {
        res.writeHead(404).end('Entry not found');
        return;
      }
      const body = readFileSync(path);
      res.writeHead(200, { 'content-length': body.byteLength });
      if (m![1] === 'test/dropped' && m![3] === 'model.safetensors' && this.dropWeights) {
        res.write(body.subarray(0, body.byteLength >> 1), () => res.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop() {
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(ok));
  }
}

describe.skipIf(!haveFixtures('hub download tests'))('loadPretrained and the hub cache', () => {
  const hub = new FakeHub();
  beforeAll(async () => {
    await tf.setBackend('cpu');
    hub.repos.set('test/bert-tiny', fixturePath('bert-tiny-random'));
    hub.repos.set('test/vit-tiny', fixturePath('vit-tiny-random'));
    hub.repos.set('test/dropped', fixturePath('vit-tiny-random'));
    hub.repos.set('test/no-config', tmp());
    await hub.start();
  });
  afterAll(() => hub.stop());

  it('loads a local folder: config and every tensor', async () => {
    await expectNoLeaks(async () => {
      const { dir, config, tensors } = await loadPretrained(fixturePath('vit-tiny-random'));
      expect(dir).toBe(fixturePath('vit-tiny-random'));
      expect(config.model_type).toBe('vit');
      expect(tensors.size).toBe(40);
      expect(tensors.get('vit.embeddings.patch_embeddings.projection.weight')!.shape).toEqual([32, 3, 8, 8]);
      dispose(tensors);
    }, 'loadPretrained(local)');
  });

  it('downloads a hub id into {cacheDir}/{id}/{revision}, with progress, then serves it from the cache', async () => {
    const cacheDir = tmp();
    const events: DownloadProgress[] = [];
    const opts = { cacheDir, endpoint: hub.endpoint, onProgress: (p: DownloadProgress) => events.push(p) };
    const { dir, config, tensors } = await loadPretrained('test/bert-tiny', opts);
    expect(dir).toBe(join(cacheDir, 'test', 'bert-tiny', 'main'));
    expect(config.hidden_size).toBe(32);
    expect(tensors.size).toBe(48);
    dispose(tensors);
    expect(sha(join(dir, 'model.safetensors'))).toBe(
      'f80fc53b6f14ae53b677f11bdee7ae5608598ed5604e1f11aec82ef704597a16',
    );
    for (const f of ['config.json', 'vocab.txt', 'tokenizer_config.json'])
      expect(readFileSync(join(dir, f)).equals(readFileSync(fixturePath('bert-tiny-random', f)))).toBe(true);
    expect(existsSync(join(dir, 'tokenizer.json'))).toBe(false); // a 404 on an optional file is fine
    expect(existsSync(join(dir, 'modules.json'))).toBe(false); // not a sentence-transformers repository
    const last = events.filter((e) => e.file === 'model.safetensors').at(-1)!;
    expect(last).toEqual({
      file: 'model.safetensors',
      loadedBytes: 4130084,
      totalBytes: 4130084,
      done: true,
    });

    const before = hub.requests.length;
    expect(await resolvePretrainedDir('test/bert-tiny', opts)).toBe(dir);
    expect(hub.requests.length).toBe(before); // no network for a complete cached folder
  });

  it('with dtype fp16 downloads model.fp16.safetensors where the repository has it, and fp32 later on its own', async () => {
    const repo = tmp();
    const src = await loadPretrained(fixturePath('vit-tiny-random'));
    writeFileSync(join(repo, 'config.json'), readFileSync(fixturePath('vit-tiny-random', 'config.json')));
    await writeSafetensors(join(repo, 'model.fp16.safetensors'), src.tensors, {}, { floatDtype: 'F16' });
    await writeSafetensors(join(repo, 'model.safetensors'), src.tensors);
    hub.repos.set('test/vit-fp16', repo);
    const cacheDir = tmp();
    const opts = { cacheDir, endpoint: hub.endpoint };
    const before = hub.requests.length;
    const half = await loadPretrained('test/vit-fp16', { ...opts, dtype: 'fp16' });
    const asked = hub.requests.slice(before);
    expect(asked).toContain('/test/vit-fp16/resolve/main/model.fp16.safetensors');
    expect(asked).not.toContain('/test/vit-fp16/resolve/main/model.safetensors'); // the smaller download only
    const name = 'vit.encoder.layer.0.attention.attention.query.weight';
    const a = await half.tensors.get(name)!.data();
    const b = await src.tensors.get(name)!.data();
    expect(a).not.toEqual(b);
    expect(
      Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(Math.abs(b[i]!), 2 ** -14))),
    ).toBeLessThanOrEqual(2 ** -11);
    // The same cache folder, now asked for fp32: complete for fp16 only, so model.safetensors is fetched.
    const full = await loadPretrained('test/vit-fp16', opts);
    expect(hub.requests.slice(before)).toContain('/test/vit-fp16/resolve/main/model.safetensors');
    expect(await full.tensors.get(name)!.data()).toEqual(b);
    for (const t of [half, full, src]) dispose(t.tensors);
  });

  it("fetches a sentence-transformers repository's modules.json and its modules' configs; a 404 leaves no folder", async () => {
    const repo = stRepo();
    hub.repos.set('test/st', repo);
    const cacheDir = tmp();
    const before = hub.requests.length;
    const dir = await resolvePretrainedDir('test/st', { cacheDir, endpoint: hub.endpoint });
    for (const f of ['modules.json', '1_Pooling/config.json', 'sentence_bert_config.json'])
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(repo, f)))).toBe(true);
    // 2_Normalize has no config.json on the hub: asked for, answered 404, and nothing made for it
    expect(hub.requests.slice(before)).toContain('/test/st/resolve/main/2_Normalize/config.json');
    expect(existsSync(join(dir, '2_Normalize'))).toBe(false);
    expect(readdirSync(join(dir, '1_Pooling'))).toEqual(['config.json']);
  });

  it('names the URL of a missing required file', async () => {
    const err = await loadPretrained('test/no-config', { cacheDir: tmp(), endpoint: hub.endpoint }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(PretrainedError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain(`${hub.endpoint}/test/no-config/resolve/main/config.json`);
  });

  it('leaves no file behind when the connection drops mid-file, and completes on the next call', async () => {
    const cacheDir = tmp();
    const opts = { cacheDir, endpoint: hub.endpoint };
    const err = await loadPretrained('test/dropped', opts).catch((e) => e);
    expect(err).toBeInstanceOf(PretrainedError);
    expect(err.code).toBe('NETWORK');
    expect(err.message).toContain('model.safetensors');
    const dir = join(cacheDir, 'test', 'dropped', 'main');
    expect(readdirSync(dir)).toEqual(['config.json']); // no partial weights, no temp file
    hub.dropWeights = false;
    const { tensors } = await loadPretrained('test/dropped', opts);
    expect(tensors.size).toBe(40);
    dispose(tensors);
    expect(sha(join(dir, 'model.safetensors'))).toBe(sha(fixturePath('vit-tiny-random/model.safetensors')));
  });

  it('downloads and loads a sharded checkpoint through model.safetensors.index.json', async () => {
    const repo = tmp();
    const { tensors } = await loadPretrained(fixturePath('bert-tiny-random'));
    const names = [...tensors.keys()].sort();
    const shardOf = (n: string) => `model-0000${names.indexOf(n) < 20 ? 1 : 2}-of-00002.safetensors`;
    for (const shard of new Set(names.map(shardOf)))
      await writeSafetensors(
        join(repo, shard),
        new Map(names.filter((n) => shardOf(n) === shard).map((n) => [n, tensors.get(n)!])),
      );
    writeFileSync(
      join(repo, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(names.map((n) => [n, shardOf(n)])) }),
    );
    writeFileSync(join(repo, 'config.json'), readFileSync(fixturePath('bert-tiny-random/config.json')));
    hub.repos.set('test/sharded', repo);
    const got = await loadPretrained('test/sharded', { cacheDir: tmp(), endpoint: hub.endpoint });
    expect(got.tensors.size).toBe(48);
    const bytes = async (t: tf.Tensor) => {
      const d = await t.data();
      return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    };
    for (const n of names)
      expect((await bytes(got.tensors.get(n)!)).equals(await bytes(tensors.get(n)!))).toBe(true);
    dispose(tensors);
    dispose(got.tensors);
  });

  it('rejects ids that could escape the cache, and reads HF_ENDPOINT', async () => {
    await expect(resolvePretrainedDir('../etc/passwd', { cacheDir: tmp() })).rejects.toThrow(/INVALID_ID/);
    process.env.HF_ENDPOINT = hub.endpoint;
    try {
      const dir = await resolvePretrainedDir('test/vit-tiny', { cacheDir: tmp() });
      expect(existsSync(join(dir, 'preprocessor_config.json'))).toBe(true);
    } finally {
      delete process.env.HF_ENDPOINT;
    }
  });
});

/** Routes by exact path; what is not routed is a 404. Each route may misbehave on purpose. */
class ScriptedHub {
  readonly routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  private server!: Server;
  endpoint = '';
  async start() {
    this.server = createServer((req, res) => {
      const route =
        this.routes.get(req.url!) ??
        [...this.routes].find(([p]) => p.endsWith('*') && req.url!.startsWith(p.slice(0, -1)))?.[1];
      if (route) route(req, res);
      else res.writeHead(404).end('Entry not found');
    });
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  /** Serves a folder as repository `id`, as the plain hub does (Content-Length, no redirect). */
  serveRepo(id: string, dir: string) {
    const prefix = `/${id}/resolve/main/`;
    this.routes.set(`${prefix}*`, (req, res) => {
      const path = join(dir, ...req.url!.slice(prefix.length).split('/').map(decodeURIComponent));
      if (!existsSync(path)) return void res.writeHead(404).end();
      const body = readFileSync(path);
      res.writeHead(200, { 'content-length': body.byteLength }).end(body);
    });
  }
  stop() {
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(ok));
  }
}

/** A response without Content-Length whose end is the connection's close, written straight to the socket. */
function closeDelimited(res: ServerResponse, headers: Record<string, string | number>, body: Uint8Array) {
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  res.socket!.end(
    Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nconnection: close\r\n${head.join('')}\r\n`), body]),
  );
}

const deadPid = async () => {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((ok) => child.once('exit', ok));
  return child.pid!;
};

describe.skipIf(!haveFixtures('hub hardening tests'))(
  'the hub cache never keeps a bad file (issue 16)',
  () => {
    const hub = new ScriptedHub();
    const weights = () => readFileSync(fixturePath('vit-tiny-random/model.safetensors'));
    const weightsSha = () => createHash('sha256').update(weights()).digest('hex');
    const codeOf = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(PretrainedError);
      return e as PretrainedError;
    };
    const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
    /** Serves vit-tiny-random as `id`, with model.safetensors answered by `weightsRoute` until `heal`. */
    const repo = (id: string, weightsRoute: (req: IncomingMessage, res: ServerResponse) => void) => {
      hub.serveRepo(id, fixturePath('vit-tiny-random'));
      let healed = false;
      const route = `/${id}/resolve/main/model.safetensors`;
      hub.routes.set(route, (req, res) => {
        if (!healed) return weightsRoute(req, res);
        const body = weights();
        res.writeHead(200, { 'content-length': body.byteLength }).end(body);
      });
      return () => {
        healed = true;
      };
    };
    beforeAll(async () => {
      await tf.setBackend('cpu');
      await hub.start();
    });
    afterAll(() => hub.stop());

    it('refuses file names, revisions and ids that would become paths outside the cache', async () => {
      hub.serveRepo('h/ok', fixturePath('vit-tiny-random'));
      hub.routes.set('/x', (_req, res) => res.writeHead(200, { 'content-length': 5 }).end('owned'));
      const root = tmp();
      const cacheDir = join(root, 'cache');
      const opts = { cacheDir, endpoint: hub.endpoint };
      for (const file of ['../../../../x', '/etc/x', 'a\\..\\..\\x', 'a\0b', 'C:x', 'sub//x', './x']) {
        const err = await codeOf(resolvePretrainedDir('h/ok', { ...opts, files: [file] }));
        expect(err.code, file).toBe('UNSAFE_PATH');
        expect(err.message).toContain(JSON.stringify(file));
      }
      for (const revision of ['..', '.', '../main', 'a\\b'])
        expect((await codeOf(resolvePretrainedDir('h/ok', { ...opts, revision }))).code).toBe('INVALID_ID');
      expect((await codeOf(resolvePretrainedDir('h/../x', opts))).code).toBe('INVALID_ID');
      expect(files(root)).toEqual([]); // nothing downloaded, nothing written next to the cache either
      // A file in a subfolder of the repository is fine.
      hub.routes.set('/h/ok/resolve/main/onnx/model.onnx', (_req, res) =>
        res.writeHead(200, { 'content-length': 3 }).end('abc'),
      );
      const dir = await resolvePretrainedDir('h/ok', { ...opts, files: ['onnx/model.onnx'] });
      expect(readFileSync(join(dir, 'onnx', 'model.onnx'), 'utf8')).toBe('abc');
    });

    it('a body without Content-Length that stops short of X-Linked-Size is not kept, and is fetched again', async () => {
      const heal = repo('h/short', (_req, res) =>
        closeDelimited(res, { 'x-linked-size': weights().byteLength }, weights().subarray(0, 1000)),
      );
      const cacheDir = tmp();
      const opts = { cacheDir, endpoint: hub.endpoint };
      const err = await codeOf(loadPretrained('h/short', opts));
      expect(err.code).toBe('NETWORK');
      expect(err.message).toContain(`got 1000 bytes, but X-Linked-Size says ${weights().byteLength}`);
      const dir = join(cacheDir, 'h', 'short', 'main');
      expect(files(dir)).toEqual(['config.json']);
      heal();
      const { tensors } = await loadPretrained('h/short', opts);
      expect(tensors.size).toBe(40);
      dispose(tensors);
      expect(sha(join(dir, 'model.safetensors'))).toBe(weightsSha());
    });

    it('a truncated body with neither Content-Length nor X-Linked-Size fails the header check and is removed', async () => {
      const heal = repo('h/bare', (_req, res) => closeDelimited(res, {}, weights().subarray(0, 5000)));
      const cacheDir = tmp();
      const opts = { cacheDir, endpoint: hub.endpoint };
      const err = await codeOf(loadPretrained('h/bare', opts));
      expect(err.code).toBe('CORRUPT');
      expect(err.message).toMatch(
        /downloaded model.safetensors is not a valid safetensors file .*it was removed/,
      );
      const dir = join(cacheDir, 'h', 'bare', 'main');
      expect(files(dir)).toEqual(['config.json', 'preprocessor_config.json']); // and no .attn-complete
      heal();
      const { tensors } = await loadPretrained('h/bare', opts);
      expect(tensors.size).toBe(40);
      dispose(tensors);
    });

    it("follows the hub's redirect and checks the LFS file against X-Linked-Size and X-Linked-Etag", async () => {
      const wrong = weights();
      wrong[wrong.byteLength - 1]! ^= 0xff; // same size, valid header, one bit of one weight wrong
      let body = wrong;
      hub.serveRepo('h/lfs', fixturePath('vit-tiny-random'));
      hub.routes.set('/h/lfs/resolve/main/model.safetensors', (_req, res) =>
        res
          .writeHead(302, {
            location: '/cdn/blob',
            'x-linked-size': weights().byteLength,
            'x-linked-etag': `"${weightsSha()}"`,
          })
          .end(),
      );
      hub.routes.set('/cdn/blob', (_req, res) =>
        res.writeHead(200, { 'content-length': body.byteLength }).end(body),
      );
      const cacheDir = tmp();
      const opts = { cacheDir, endpoint: hub.endpoint };
      const err = await codeOf(loadPretrained('h/lfs', opts));
      expect(err.code).toBe('CORRUPT');
      expect(err.message).toContain(`differs from the hub's X-Linked-Etag ${weightsSha()}`);
      expect(files(join(cacheDir, 'h', 'lfs', 'main'))).toEqual(['config.json']);

      body = weights().subarray(0, 100); // a Content-Length that disagrees with X-Linked-Size
      expect((await codeOf(loadPretrained('h/lfs', opts))).message).toContain(
        `Content-Length 100 differs from X-Linked-Size ${weights().byteLength}`,
      );

      body = weights();
      const { tensors } = await loadPretrained('h/lfs', opts);
      expect(tensors.size).toBe(40);
      dispose(tensors);
      expect(sha(join(cacheDir, 'h', 'lfs', 'main', 'model.safetensors'))).toBe(weightsSha());
    });

    it('gives up on a download that stalls, and stops on an abort signal, leaving no partial file', async () => {
      const stall = (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-length': weights().byteLength });
        res.write(weights().subarray(0, 4096)); // and then nothing, with the connection open
      };
      repo('h/stall', stall);
      const cacheDir = tmp();
      const started = Date.now();
      const err = await codeOf(
        loadPretrained('h/stall', { cacheDir, endpoint: hub.endpoint, stallTimeoutMs: 300 }),
      );
      expect(err.code).toBe('STALLED');
      expect(err.message).toContain('no data for 300 ms after 4096 bytes');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(files(join(cacheDir, 'h', 'stall', 'main'))).toEqual(['config.json']);

      const abort = new AbortController();
      const onProgress = (p: DownloadProgress) => {
        if (p.file === 'model.safetensors') abort.abort();
      };
      const aborted = await codeOf(
        loadPretrained('h/stall', { cacheDir, endpoint: hub.endpoint, signal: abort.signal, onProgress }),
      );
      expect(aborted.code).toBe('ABORTED');
      expect(aborted.message).toContain('model.safetensors: aborted after 4096 bytes');
      expect(files(join(cacheDir, 'h', 'stall', 'main'))).toEqual(['config.json']);
    });

    it('a dropped 1_Pooling/config.json leaves neither the file nor its folder, and is fetched on the next call', async () => {
      const st = stRepo();
      hub.serveRepo('h/st', st);
      const pooling = readFileSync(join(st, '1_Pooling', 'config.json'));
      let drop = true;
      hub.routes.set('/h/st/resolve/main/1_Pooling/config.json', (_req, res) => {
        res.writeHead(200, { 'content-length': pooling.byteLength });
        if (drop) res.write(pooling.subarray(0, 8), () => res.destroy());
        else res.end(pooling);
      });
      const cacheDir = tmp();
      const dir = join(cacheDir, 'h', 'st', 'main');
      expect((await codeOf(resolvePretrainedDir('h/st', { cacheDir, endpoint: hub.endpoint }))).code).toBe(
        'NETWORK',
      );
      expect(files(dir)).toEqual([
        'config.json',
        'model.safetensors',
        'modules.json',
        'sentence_bert_config.json',
        'vocab.txt',
      ]); // no 1_Pooling folder
      drop = false;
      await resolvePretrainedDir('h/st', { cacheDir, endpoint: hub.endpoint });
      expect(readFileSync(join(dir, '1_Pooling', 'config.json')).equals(pooling)).toBe(true);
      expect(existsSync(join(dir, '2_Normalize'))).toBe(false);
    });

    it('removes the .part file a killed download left, on the next download into that folder', async () => {
      hub.serveRepo('h/left', fixturePath('vit-tiny-random'));
      const cacheDir = tmp();
      const dir = join(cacheDir, 'h', 'left', 'main');
      mkdirSync(dir, { recursive: true });
      const leftover = `.model.safetensors.${await deadPid()}.k1ll3d.part`;
      writeFileSync(join(dir, leftover), weights().subarray(0, 1234));
      writeFileSync(join(dir, 'config.json'), readFileSync(fixturePath('vit-tiny-random/config.json')));
      await resolvePretrainedDir('h/left', { cacheDir, endpoint: hub.endpoint });
      expect(files(dir)).toEqual([
        '.attn-complete',
        'config.json',
        'model.safetensors',
        'preprocessor_config.json',
      ]);
    });
  },
);

describe('the hub downloader and compressed bodies', () => {
  it('checks the decoded size against X-Linked-Size, not the compressed Content-Length', async () => {
    const body = Buffer.from(JSON.stringify({ model_type: 'bert', pad: 'x'.repeat(4000) }));
    const gz = gzipSync(body);
    const server = createServer((_req, res) =>
      res
        .writeHead(200, {
          'content-encoding': 'gzip',
          'content-length': gz.byteLength,
          'x-linked-size': body.byteLength,
        })
        .end(gz),
    );
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/config.json`;
      const dest = join(tmp(), 'config.json');
      expect(await downloadFile(url, dest, 'config.json')).toBe(true);
      expect(readFileSync(dest).equals(body)).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
