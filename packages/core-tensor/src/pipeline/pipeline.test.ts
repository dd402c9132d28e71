import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendNotInitializedError } from '../backend/errors.js';
import { loadPretrained } from '../hub/pretrained.js';
import { Linear } from '../nn/layers.js';
import { type ResolvedDevice, resolveDevice } from './device.js';
import { MissingWeightsError, PipelineError } from './errors.js';
import { checkHeadWeights, Pipeline, preparePipeline } from './pipeline.js';
import { type ProgressEvent, ProgressReporter } from './progress.js';
import { Tensor } from './tensor.js';

// Runs first, in a process where nothing has started a tfjs backend yet.
describe('without initBackend', () => {
  it('building a module throws BackendNotInitializedError, not tfjs\'s "No backend found in registry"', () => {
    expect(tf.engine().backendNames()).toEqual([]);
    expect(() => new Linear(2, 3)).toThrow(BackendNotInitializedError);
    expect(() => new Linear(2, 3)).toThrow(/initBackend/);
  });

  it('loadPretrained starts a backend itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attn-pipe-'));
    try {
      await writeFile(join(dir, 'config.json'), '{}');
      // Written with plain bytes: no tfjs tensor may exist before the backend starts.
      const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      await writeFile(
        join(dir, 'model.safetensors'),
        Buffer.concat([len, header, Buffer.from(new Float32Array([7]).buffer)]),
      );
      const { tensors } = await loadPretrained(dir);
      expect(tf.engine().backendNames().length).toBeGreaterThan(0);
      expect(Array.from(await tensors.get('w')!.data())).toEqual([7]);
      for (const t of tensors.values()) t.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Tensor', () => {
  it("has transformers.js' dims, data, size and tolist()", () => {
    const t = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 1, 3]);
    expect(t.dims).toEqual([2, 1, 3]);
    expect(t.size).toBe(6);
    expect(t.tolist()).toEqual([[[1, 2, 3]], [[4, 5, 6]]]);
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(/dims \[2,3\] hold 6/);
  });
});

class Doubler extends Pipeline<number[], { plus?: number }, number[]> {
  readonly factor = 2;
  disposed = false;
  protected async _call(xs: number[], o: { plus?: number } = {}) {
    return xs.map((x) => x * this.factor + (o.plus ?? 0));
  }
  async dispose() {
    this.disposed = true;
  }
}

describe('Pipeline', () => {
  const device: ResolvedDevice = { device: 'cpu', engine: 'tfjs', description: 'cpu' };
  it('is called like a function and keeps its fields and methods', async () => {
    const p = new Doubler('double', device);
    expect(await p([1, 2], { plus: 1 })).toEqual([3, 5]);
    expect(p.task).toBe('double');
    expect(p.device.description).toBe('cpu');
    expect(p).toBeInstanceOf(Doubler);
    await p.dispose();
    expect(p.disposed).toBe(true);
  });

  it('rejects an unknown dtype and device with a typed error', async () => {
    const resolve = async (m: string) => m;
    await expect(preparePipeline('t', 'dir', { dtype: 'q4' as never }, resolve)).rejects.toThrow(
      /option dtype "q4" is not supported \(fp32, fp16, q8\).*UNSUPPORTED_DTYPE/,
    );
    // On tfjs fp16 and q8 are weights read at that precision: the dtype reaches the download and the loader.
    for (const dtype of ['fp16', 'q8'] as const) {
      let asked: string | undefined;
      const ctx = await preparePipeline('t', 'dir', { dtype, device: 'cpu' }, async (m, hub) => {
        asked = hub.dtype;
        return m;
      });
      expect([ctx.dtype, ctx.hub.dtype, asked]).toEqual([dtype, dtype, dtype]);
    }
    await expect(preparePipeline('t', 'dir', { device: 'tpu' as never }, resolve)).rejects.toThrow(
      PipelineError,
    );
  });

  it("device 'native' uses onnxruntime-node (a devDependency here); 'cpu' the tfjs cpu backend", async () => {
    expect(await resolveDevice('native')).toMatchObject({ device: 'native', engine: 'onnx' });
    expect(await resolveDevice('auto')).toMatchObject({ device: 'native', engine: 'onnx' });
    const cpu = await resolveDevice('cpu');
    expect(cpu).toMatchObject({ device: 'cpu', engine: 'tfjs', description: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('checkHeadWeights names the missing tensors and the folder, unless allowed', () => {
    const missing = ['classifier.weight', 'classifier.bias', 'bert.pooler.dense.weight'];
    expect(() => checkHeadWeights('text-classification', '/m', missing)).toThrow(MissingWeightsError);
    expect(() => checkHeadWeights('text-classification', '/m', missing)).toThrow(
      /\/m has no trained weights for classifier\.weight, classifier\.bias, bert\.pooler/,
    );
    expect(() => checkHeadWeights('t', '/m', missing, { allowRandomHead: true })).not.toThrow();
    expect(() => checkHeadWeights('t', '/m', missing.slice(2), { optional: /pooler/ })).not.toThrow();
  });
});

describe('ProgressReporter', () => {
  it("reports transformers.js' events: initiate, download, progress, done per file, then ready", () => {
    const events: ProgressEvent[] = [];
    const r = new ProgressReporter('org/m', (e) => events.push(e));
    r.onDownload({ file: 'model.safetensors', loadedBytes: 50, totalBytes: 200, done: false });
    r.onDownload({ file: 'model.safetensors', loadedBytes: 200, totalBytes: 200, done: true });
    r.announceLocal([
      { file: 'model.safetensors', bytes: 200 },
      { file: 'config.json', bytes: 10 },
    ]);
    r.ready('fill-mask');
    expect(events).toEqual([
      { status: 'initiate', name: 'org/m', file: 'model.safetensors' },
      { status: 'download', name: 'org/m', file: 'model.safetensors' },
      { status: 'progress', name: 'org/m', file: 'model.safetensors', progress: 25, loaded: 50, total: 200 },
      {
        status: 'progress',
        name: 'org/m',
        file: 'model.safetensors',
        progress: 100,
        loaded: 200,
        total: 200,
      },
      { status: 'done', name: 'org/m', file: 'model.safetensors' },
      { status: 'initiate', name: 'org/m', file: 'config.json' },
      { status: 'progress', name: 'org/m', file: 'config.json', progress: 100, loaded: 10, total: 10 },
      { status: 'done', name: 'org/m', file: 'config.json' },
      { status: 'ready', task: 'fill-mask', model: 'org/m' },
    ]);
  });
});
