import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../safetensors/write.js';
import { expectNoLeaks, fixturePath, haveFixtures } from '../testing.js';
import { type DownloadProgress, loadPretrained, PretrainedError, resolvePretrainedDir } from './index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'attn-hub-'));
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
      const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/([^/]+)$/.exec(req.url!);
      const dir = m && m[2] === 'main' ? this.repos.get(m[1]!) : undefined;
      const path = dir && join(dir, m![3]!);
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
