import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, type ProgressEvent, readSafetensorsInfo, tf } from '@attn/core-tensor';
import { backendsUnderTest, fixturePath, haveFixtures, relativeError } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportOnnx,
  type ImageClassification,
  pipeline,
  ViTForImageClassification,
  ViTImageProcessor,
  ViTOnnxRuntime,
} from '../index.js';

const BACKENDS = await backendsUnderTest();
const readJson = (...p: string[]) => JSON.parse(readFileSync(fixturePath(...p), 'utf8'));
const size = (dir: string, file: string) => statSync(join(dir, file)).size;

/** Bytes of a safetensors file after its header: what the tensors themselves take. */
function dataBytes(path: string): number {
  const head = readFileSync(path).subarray(0, 8);
  return statSync(path).size - 8 - Number(head.readBigUInt64LE(0));
}

const flat = (x: unknown) => (x as number[]).flat(Number.POSITIVE_INFINITY) as number[];

// fp16 and q8 weight files: `save(dir, meta, { dtype })` writes model.fp16.safetensors / model.q8.safetensors
// beside model.safetensors; tfjs loads either by widening / dequantising to float32.
describe.skipIf(!haveFixtures('ViT weight dtypes'))('ViT weights stored as fp16 and q8', () => {
  const root = mkdtempSync(join(tmpdir(), 'attn-vit-dtypes-'));
  const tiny = join(root, 'tiny');
  const src = () => fixturePath('vit-tiny-random');
  beforeAll(async () => {
    await initBackend('cpu');
    const m = await ViTForImageClassification.fromPretrained(src());
    for (const dtype of ['fp32', 'fp16', 'q8'] as const) await m.save(tiny, undefined, { dtype });
    m.dispose();
    copyFileSync(join(src(), 'preprocessor_config.json'), join(tiny, 'preprocessor_config.json'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('one folder holds the three files; fp16 data is half of fp32, q8 one byte a matrix weight plus its scales', async () => {
    const info = await readSafetensorsInfo(join(tiny, 'model.safetensors'));
    let q8 = 0;
    for (const t of info.tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      q8 += t.name.endsWith('.weight') && t.shape.length >= 2 ? n + 4 * t.shape[0]! : 4 * n;
    }
    const fp32 = dataBytes(join(tiny, 'model.safetensors'));
    expect(dataBytes(join(tiny, 'model.fp16.safetensors'))).toBe(fp32 / 2);
    expect(dataBytes(join(tiny, 'model.q8.safetensors'))).toBe(q8);
    const q8Info = await readSafetensorsInfo(join(tiny, 'model.q8.safetensors'));
    expect(q8Info.metadata).toMatchObject({ format: 'pt', dtype: 'q8' });
    const byName = new Map(q8Info.tensors.map((t) => [t.name, t]));
    expect(byName.get('vit.embeddings.patch_embeddings.projection.weight')?.dtype).toBe('I8');
    expect(byName.get('vit.embeddings.patch_embeddings.projection.weight_scale')?.shape).toEqual([
      32, 1, 1, 1,
    ]);
    expect(byName.get('vit.encoder.layer.0.attention.attention.query.bias')?.dtype).toBe('F32');
    expect(byName.get('vit.embeddings.position_embeddings')?.dtype).toBe('F32');
  });

  for (const backend of BACKENDS)
    it(`fromPretrained({ dtype }) on ${backend}: logits and hidden states near HF's gold, no leaks`, async () => {
      await initBackend(backend);
      const gold = readJson('golden', 'vit-tiny-random.json').images;
      const proc = await ViTImageProcessor.fromPretrained(tiny);
      const { pixelValues } = await proc.preprocess(
        gold.map((g: { image: string }) => fixturePath('golden', g.image)),
      );
      for (const dtype of ['fp16', 'q8'] as const) {
        const before = tf.memory().numTensors;
        const model = await ViTForImageClassification.fromPretrained(tiny, { dtype });
        expect(model.loadingInfo).toEqual({ missing: [], unexpected: [] });
        const out = model.forward(pixelValues, { outputHiddenStates: true });
        const logits = (await out.logits.data()) as Float32Array;
        const last = (await out.hiddenStates!.at(-1)!.data()) as Float32Array;
        tf.dispose([out.logits, ...out.hiddenStates!]);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
        const l = relativeError(
          logits,
          gold.flatMap((g: { logits: number[][] }) => flat(g.logits)),
        );
        const h = relativeError(
          last,
          gold.flatMap((g: { hidden_states: unknown[] }) => flat(g.hidden_states.at(-1))),
        );
        console.log(
          `${backend} ${dtype}: logits rel ${l.rel.toExponential(2)} cos ${l.cos}, hidden rel ${h.rel.toExponential(2)}`,
        );
        if (dtype === 'fp16') {
          // Each weight is off by at most 2^-11 of itself; two layers and a head keep that near 1e-3.
          expect(l.rel).toBeLessThan(3e-3);
          expect(h.rel).toBeLessThan(3e-3);
          expect(l.rel).toBeGreaterThan(0); // the weights really were rounded
        } else {
          expect(l.cos).toBeGreaterThan(0.99);
          expect(h.cos).toBeGreaterThan(0.99);
        }
        const top = (x: Float32Array, n: number) => {
          const row = [...x.subarray(n * 5, n * 5 + 5)];
          return row.indexOf(Math.max(...row));
        };
        gold.forEach((g: { logits: number[][] }, n: number) => {
          const row = flat(g.logits);
          expect(top(logits, n), `${dtype} top-1 of image ${n}`).toBe(row.indexOf(Math.max(...row)));
        });
      }
      pixelValues.dispose();
    });

  it('pipeline dtype on tfjs: the fp16/q8 file where there is one, else fp32 rounded to the same numbers', async () => {
    const only = (file: string) => {
      const d = mkdtempSync(join(root, 'only-'));
      for (const f of ['config.json', 'preprocessor_config.json', file])
        copyFileSync(join(tiny, f), join(d, f));
      return d;
    };
    const fp32Only = only('model.safetensors');
    const image = fixturePath('golden', readJson('golden', 'vit-tiny-random.json').images[0].image);
    const scores = async (dir: string, dtype: 'fp16' | 'q8') => {
      const events: ProgressEvent[] = [];
      const pipe = await pipeline('image-classification', dir, {
        device: 'cpu',
        dtype,
        top_k: 5,
        progress_callback: (e) => events.push(e),
      });
      const r = (await pipe(image)) as ImageClassification[];
      await pipe.dispose();
      const files = events.filter((e) => e.status === 'done').map((e) => (e as { file: string }).file);
      return { r, files };
    };
    for (const dtype of ['fp16', 'q8'] as const) {
      const file = `model.${dtype}.safetensors`;
      const fromFile = await scores(only(file), dtype);
      expect(fromFile.files).toContain(file);
      const rounded = await scores(fp32Only, dtype);
      expect(rounded.files).toContain('model.safetensors');
      // The same float32 numbers either way: the download shrinks, the answers do not change.
      expect(rounded.r).toEqual(fromFile.r);
      const both = await scores(tiny, dtype);
      expect(both.files).toContain(file);
      expect(both.files).not.toContain('model.safetensors');
    }
  });

  it('the native engine runs a folder that only has the q8 file, as q8 runs the fp32 one', async () => {
    const image = fixturePath('golden', readJson('golden', 'vit-tiny-random.json').images[1].image);
    const run = async (dir: string) => {
      const pipe = await pipeline('image-classification', dir, { device: 'native', dtype: 'q8', top_k: 5 });
      const r = (await pipe(image)) as ImageClassification[];
      await pipe.dispose();
      return r;
    };
    const q8Only = mkdtempSync(join(root, 'q8-'));
    for (const f of ['config.json', 'preprocessor_config.json', 'model.q8.safetensors'])
      copyFileSync(join(tiny, f), join(q8Only, f));
    const a = await run(q8Only);
    const b = await run(src());
    expect(a.map((x) => x.label)).toEqual(b.map((x) => x.label));
    // Not equal: the file's patch-embedding Conv2d is int8 too, where the native q8 graph of fp32 weights keeps
    // it float (its Linears requantise to the same int8: one scale per row, taken from the same maximum).
    for (const [i, x] of a.entries()) expect(Math.abs(x.score - b[i]!.score)).toBeLessThan(2e-2);
  });

  it('fp16 ONNX (transformers.js model_fp16.onnx): onnxruntime logits = tfjs fp16 logits', async () => {
    await initBackend('cpu');
    const model = await ViTForImageClassification.fromPretrained(src());
    const half = await ViTForImageClassification.fromPretrained(tiny, { dtype: 'fp16' });
    const rt = await ViTOnnxRuntime.fromModel(model, { dtype: 'fp16' });
    const pixels = tf.randomUniform([2, 3, 32, 32], -1, 1, 'float32', 3) as tf.Tensor4D;
    const { logits } = await rt.forward(pixels);
    const want = half.forward(pixels).logits;
    const exact = model.forward(pixels).logits;
    const [a, b, c] = [await logits.data(), await want.data(), await exact.data()];
    const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    const off = Math.max(...a.map((x, i) => Math.abs(x - c[i]!)));
    expect(diff).toBeLessThan(1e-4); // the same half weights, float32 compute in both engines
    expect(off).toBeGreaterThan(1e-6); // and they are not fp32's
    tf.dispose([pixels, logits, want, exact]);
    await rt.dispose();
    model.dispose();
    half.dispose();
  });

  it('the real ViT-Tiny: fp16 file (and fp16 ONNX) 0.50× and q8 file ≤ 0.27× of fp32', async () => {
    await initBackend('cpu');
    const real = fixturePath('models', 'vit-tiny-tinyimagenet');
    const out = join(root, 'real');
    const m = await ViTForImageClassification.fromPretrained(real);
    await m.save(out, undefined, { dtype: 'fp16' });
    await m.save(out, undefined, { dtype: 'q8' });
    const onnx32 = exportOnnx(m, join(out, 'model.onnx')).bytes;
    const onnx16 = exportOnnx(m, join(out, 'model_fp16.onnx'), { dtype: 'fp16' }).bytes;
    m.dispose();
    console.log(`ViT-Tiny ONNX: fp32 ${onnx32} B, fp16 ${onnx16} B (${(onnx16 / onnx32).toFixed(3)}×)`);
    expect(onnx16 / onnx32).toBeGreaterThan(0.49);
    expect(onnx16 / onnx32).toBeLessThan(0.51);
    const fp32 = size(real, 'model.safetensors');
    const [fp16, q8] = [size(out, 'model.fp16.safetensors'), size(out, 'model.q8.safetensors')];
    console.log(
      `ViT-Tiny weights: fp32 ${fp32} B, fp16 ${fp16} B (${(fp16 / fp32).toFixed(3)}×), q8 ${q8} B (${(q8 / fp32).toFixed(3)}×)`,
    );
    expect(fp16 / fp32).toBeGreaterThan(0.49);
    expect(fp16 / fp32).toBeLessThan(0.51);
    expect(q8 / fp32).toBeGreaterThan(0.25);
    expect(q8 / fp32).toBeLessThan(0.27);
  }, 120_000);
});
