import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadSafetensors, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { AutoModelForImageClassification, env, Tensor } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViTForImageClassification, ViTModel } from '../model.js';
import { exportOnnx } from './onnx.js';

interface GoldenImage {
  image: string;
  logits: number[][];
  last_hidden_state: number[][][];
  pixel_values?: number[][][][];
}

/** The two members the exporter reads, over the fixture's tensors (so the test does not wait on ViT classes). */
class FixtureViT {
  constructor(
    readonly config: object,
    private readonly tensors: Map<string, tf.Tensor>,
    private readonly keep: (n: string) => boolean = () => true,
    private readonly rename: (n: string) => string = (n) => n,
  ) {}
  stateDict() {
    const out = new Map<string, tf.Tensor>();
    for (const [n, t] of this.tensors) if (this.keep(n)) out.set(this.rename(n), tf.clone(t));
    return out;
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: number[]) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const pixels = (p: number[][][][]) =>
  new ort.Tensor('float32', Float32Array.from(p.flat(3)), [
    p.length,
    p[0].length,
    p[0][0].length,
    p[0][0][0].length,
  ]);

describe.skipIf(!haveFixtures('ViT ONNX export'))('ViT ONNX export → onnxruntime-node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-vit-onnx-'));
  const open = async (name: string) => {
    const tensors = await loadSafetensors(fixturePath(name, 'model.safetensors'));
    const config = JSON.parse(readFileSync(fixturePath(name, 'config.json'), 'utf8'));
    return { tensors, config };
  };
  const disposeAll = (m: Map<string, tf.Tensor>) => {
    for (const t of m.values()) t.dispose();
  };
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ViTForImageClassification (32 px): logits match HF for every golden image, alone and as one batch', async () => {
    const { tensors, config } = await open('vit-tiny-random');
    const path = join(dir, 'vit32.onnx');
    const res = await expectNoLeaks(
      () => exportOnnx(new FixtureViT(config, tensors), path),
      'exportOnnx(vit)',
    );
    disposeAll(tensors);
    expect(res).toMatchObject({
      task: 'image-classification',
      inputs: ['pixel_values'],
      outputs: ['logits'],
    });
    const session = await ort.InferenceSession.create(path);
    const golden: GoldenImage[] = JSON.parse(
      readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8'),
    ).images;
    for (const x of golden) {
      const out = await session.run({ pixel_values: pixels(x.pixel_values!) });
      expect(maxAbsDiff(out.logits.data as Float32Array, x.logits.flat())).toBeLessThan(1e-4);
    }
    const batch = await session.run({ pixel_values: pixels(golden.map((x) => x.pixel_values![0])) });
    expect(batch.logits.dims).toEqual([golden.length, 5]);
    expect(
      maxAbsDiff(
        batch.logits.data as Float32Array,
        golden.flatMap((x) => x.logits.flat()),
      ),
    ).toBeLessThan(1e-4);
  });

  it('ViTModel (224 px, 197 tokens): last_hidden_state matches HF', async () => {
    const { tensors, config } = await open('vit-tiny-random-224');
    const path = join(dir, 'vit224.onnx');
    const base = new FixtureViT(
      config,
      tensors,
      (n) => n.startsWith('vit.'),
      (n) => n.slice(4),
    );
    const res = exportOnnx(base, path, { task: 'base' });
    disposeAll(tensors);
    expect(res.outputs).toEqual(['last_hidden_state']);
    const session = await ort.InferenceSession.create(path);
    const golden: GoldenImage[] = JSON.parse(
      readFileSync(fixturePath('golden', 'vit-tiny-random-224.json'), 'utf8'),
    ).images;
    const image = golden[0].image.replace(/^images\//, '').replace(/\.png$/, '');
    const px = JSON.parse(
      readFileSync(fixturePath('golden', `vit-tiny-random-224-pixels-${image}.json`), 'utf8'),
    );
    const out = await session.run({ pixel_values: pixels(px.pixel_values) });
    expect(out.last_hidden_state.dims).toEqual([1, 197, 48]);
    expect(
      maxAbsDiff(out.last_hidden_state.data as Float32Array, golden[0].last_hidden_state.flat(2)),
    ).toBeLessThan(1e-4);
  });

  it('our ViTForImageClassification exports; transformers.js loads the folder and agrees with our logits', async () => {
    const model = await ViTForImageClassification.fromPretrained(fixturePath('vit-tiny-random'));
    const folder = join(dir, 'vit-tjs');
    mkdirSync(join(folder, 'onnx'), { recursive: true });
    await model.save(folder);
    copyFileSync(
      fixturePath('vit-tiny-random', 'preprocessor_config.json'),
      join(folder, 'preprocessor_config.json'),
    );
    exportOnnx(model, join(folder, 'onnx', 'model.onnx'));
    env.allowRemoteModels = false;
    env.localModelPath = dir;
    const tjs = await AutoModelForImageClassification.from_pretrained('vit-tjs', { dtype: 'fp32' });
    const golden: GoldenImage[] = JSON.parse(
      readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8'),
    ).images;
    for (const x of golden) {
      const px = Float32Array.from(x.pixel_values!.flat(3));
      const ours = tf.tidy(() => model.forward(tf.tensor4d(px, [1, 3, 32, 32])).logits);
      const oursLogits = [...(ours.dataSync() as Float32Array)];
      ours.dispose();
      const { logits } = await tjs({ pixel_values: new Tensor('float32', px, [1, 3, 32, 32]) });
      expect(maxAbsDiff(logits.data as Float32Array, oursLogits)).toBeLessThan(1e-4);
      expect(maxAbsDiff(logits.data as Float32Array, x.logits.flat())).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  it('our ViTModel with a pooler, walked as loaded: last_hidden_state equals HF, pooler_output equals our forward', async () => {
    const model = await ViTModel.fromPretrained(fixturePath('vit-tiny-random'), { addPoolingLayer: true });
    for (const p of model.parameters()) void p.variable; // the new pooler's random init happens here, not in the export
    const path = join(dir, 'vit-base-pooler.onnx');
    const res = await expectNoLeaks(() => exportOnnx(model, path), 'exportOnnx(ViTModel)');
    expect(res).toMatchObject({ task: 'base', outputs: ['last_hidden_state', 'pooler_output'] });
    const session = await ort.InferenceSession.create(path);
    const golden: GoldenImage[] = JSON.parse(
      readFileSync(fixturePath('golden', 'vit-tiny-random.json'), 'utf8'),
    ).images;
    const batch = golden.map((x) => x.pixel_values![0]);
    const out = await session.run({ pixel_values: pixels(batch) });
    expect(out.last_hidden_state.dims).toEqual([golden.length, 17, 32]);
    expect(
      maxAbsDiff(
        out.last_hidden_state.data as Float32Array,
        golden.flatMap((x) => x.last_hidden_state.flat(2)),
      ),
    ).toBeLessThan(1e-4);
    const ours = tf.tidy(
      () => model.forward(tf.tensor4d(batch.flat(3), [golden.length, 3, 32, 32])).poolerOutput!,
    );
    expect(
      maxAbsDiff(out.pooler_output.data as Float32Array, [...(ours.dataSync() as Float32Array)]),
    ).toBeLessThan(1e-4);
    ours.dispose();
    model.dispose();
  });
});
