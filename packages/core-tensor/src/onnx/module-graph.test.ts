import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { Module, type Parameter, withDeferredInit } from '../module.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { deterministicValues, expectNoLeaks } from '../testing.js';
import { OnnxGraphError } from './graph.js';
import { OnnxModuleGraph } from './module-graph.js';
import { OnnxSession } from './session.js';
import { OnnxWeights } from './weights.js';

/** Embedding → Linear → LayerNorm, each rendered by its own toOnnx. */
class Tiny extends Module {
  readonly up = this.module('up', new Linear(4, 3));
  readonly ln = this.module('ln', new LayerNorm(3, 1e-5));
  readonly emb = this.module('emb', new Embedding(5, 4));
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.ln.forward(this.up.forward(this.emb.forward(ids))));
  }
  toOnnx(g: OnnxModuleGraph, ids: string): string {
    return this.ln.toOnnx(g, this.up.toOnnx(g, this.emb.toOnnx(g, ids)));
  }
}

const host = (shape: number[], seed: number) => ({
  shape,
  data: deterministicValues(
    shape.reduce((a, b) => a * b),
    seed,
  ),
});
/** A checkpoint as `readSafetensors` gives it (HF layout: the Linear weight is [out, in]). */
const checkpoint = () =>
  new Map([
    ['up.weight', host([3, 4], 1)],
    ['up.bias', host([3], 2)],
    ['ln.weight', host([3], 3)],
    ['ln.bias', host([3], 4)],
    ['emb.weight', host([5, 4], 5)],
  ]);

function graphOf(model: Tiny, ws: OnnxWeights) {
  const g = new OnnxModuleGraph('tiny', model, ws);
  g.output('y', model.toOnnx(g, g.input('ids', 'int64', ['batch', 2])), 'float32', ['batch', 2, 3]);
  g.checkAllRead('tiny');
  return g;
}

describe('OnnxModuleGraph: core-tensor layers render themselves', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('from a checkpoint in host memory: weights as stored, no copy, no tensor; the graph equals forward', async () => {
    const ckpt = checkpoint();
    const shape = withDeferredInit(() => new Tiny());
    const ws = OnnxWeights.forModule(shape, ckpt)!;
    const g = await expectNoLeaks(() => graphOf(shape, ws), 'graphOf');
    // The Linear weight stays [out, in] and is the checkpoint's own array: onnxruntime folds the Transpose.
    expect(ws.get('up.weight').data).toBe(ckpt.get('up.weight')!.data);
    expect(ws.get('up.weight').shape).toEqual([3, 4]);

    const loaded = new Tiny();
    loaded.loadStateDict(new Map([...ckpt].map(([n, t]) => [n, tf.tensor(t.data, t.shape)])), {
      release: true,
    });
    const ids = tf.tensor2d([0, 3, 4, 1], [2, 2], 'int32');
    const session = await OnnxSession.create(g.encode());
    const { y } = await session.run({ ids });
    await session.dispose();
    const want = loaded.forward(ids);
    const [a, b] = [y.dataSync(), want.dataSync()];
    expect(y.shape).toEqual([2, 2, 3]);
    for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
    tf.dispose([ids, y, want]);
    loaded.dispose();
  });

  it('from a loaded model: each weight downloaded once, in HF layout, when the graph reads it', async () => {
    const model = new Tiny();
    const ws = OnnxWeights.fromModule(model);
    await expectNoLeaks(() => graphOf(model, ws), 'graphOf');
    const sd = model.stateDict();
    for (const [name, t] of sd) expect([...ws.get(name).data]).toEqual([...(t.dataSync() as Float32Array)]);
    tf.dispose([...sd.values()]);
    model.dispose();
  });

  it('a tied parameter is one initializer; a wrong shape or a weight never read is an error', () => {
    /** Holds another module's weight, as BERT's MLM decoder holds the word embeddings. */
    class Decoder extends Module {
      readonly weight;
      constructor(w: Parameter) {
        super();
        this.weight = this.shareParam('weight', w);
      }
    }
    class Tied extends Module {
      readonly a = this.module('a', new Linear(2, 2));
      readonly b = this.module('b', new Decoder(this.a.weight));
    }
    const m = withDeferredInit(() => new Tied());
    const ws = new OnnxWeights(
      new Map([
        ['a.weight', host([2, 2], 1)],
        ['a.bias', host([2], 2)],
      ]),
    );
    const g = new OnnxModuleGraph('tied', m, ws);
    expect(g.param(m.a.weight)).toBe('a.weight');
    expect(g.param(m.b.weight)).toBe('a.weight'); // read again through the tie: stored once
    expect(() => g.checkAllRead('tied')).toThrow(/would drop weights: a\.bias \(/);

    const wrong = new OnnxWeights(new Map([['a.weight', host([2, 3], 1)]]));
    expect(() => new OnnxModuleGraph('w', m, wrong).param(m.a.weight)).toThrow(OnnxGraphError);
    expect(() => new OnnxModuleGraph('w', m, wrong).param(m.a.weight)).toThrow(
      /\[2,3\], the model expects \[2,2\]/,
    );
  });
});
