/**
 * `--dtype fp32 | fp16 | q8` through the CLI: classify-image on the real ViT-Tiny keeps fp32's top-1 with
 * scores close to it, embed's q8 vectors point where fp32's do, a bad value names the option, `attn export
 * --dtype q8 --out DIR` writes a folder that `pipeline(…, { dtype: 'q8' })` loads, and a store remembers the
 * dtype its vectors were made at (search encodes queries with it; another dtype is refused).
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@attn/core-tensor';
import { fixturePath, haveFixtures, relativeError } from '@attn/core-tensor/testing';
import { pipeline as vitPipeline } from '@attn/vit';
import { beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/server/app.js';
import { golden, runCli } from './helpers.js';

type Pred = { label: string; score: number };
const tmp = mkdtempSync(join(tmpdir(), 'attn-dtype-'));

// The first six photos of the gold's 200 (not picked for wide margins).
const IMAGES = golden<{ images: { file: string }[] }>('vit-tiny-tinyimagenet.json')
  .images.slice(0, 6)
  .map((i) => i.file);

describe.skipIf(!haveFixtures('CLI dtype tests'))('attn --dtype', () => {
  const vit = fixturePath('models', 'vit-tiny-tinyimagenet');
  const files = IMAGES.map((f) => fixturePath('data', 'tiny-imagenet-val-200', f));
  beforeAll(() => initBackend('wasm'));

  const classify = async (dtype: string, device: string, model = vit) => {
    const r = await runCli([
      '--device',
      device,
      '--dtype',
      dtype,
      '--json',
      'classify-image',
      '--model',
      model,
      '--top',
      '5',
      ...files,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.json().map((l) => l.predictions as Pred[]);
  };

  for (const device of ['native', 'wasm']) {
    it(`classify-image --dtype q8 on ViT-Tiny keeps fp32's top-1, scores within 0.05 (${device})`, async () => {
      const fp32 = await classify('fp32', device);
      const q8 = await classify('q8', device);
      let worst = 0;
      for (const [i, p] of fp32.entries()) {
        expect(q8[i][0].label, IMAGES[i]).toBe(p[0].label);
        for (const { label, score } of p.slice(0, 3)) {
          const other = q8[i].find((x) => x.label === label);
          worst = Math.max(worst, Math.abs((other?.score ?? 0) - score));
        }
      }
      // Why 0.05: q8 moves each weight by up to half a step of its row's max/127 (0.4 %), which over 12 layers
      // shifts ViT-Tiny's logits by ~0.1-0.2; a softmax score moves by p(1-p)·Δlogit ≤ 0.25·0.2. Measured: 0.042
      // native (int8 compute), 0.037 wasm (dequantised weights).
      console.log(`q8 vs fp32 ${device}: max |score diff| over top-3 = ${worst.toFixed(5)}`);
      expect(worst).toBeLessThan(0.05);
    });
  }

  it('--dtype q4 is a usage error naming the option and the choices', async () => {
    const r = await runCli(['--dtype', 'q4', 'classify-image', '--model', vit, files[0]]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--dtype <precision>' argument 'q4' is invalid/);
    expect(r.stderr).toMatch(/fp32, fp16, q8/);
  });

  it('export --dtype q8 --out DIR writes model.q8.safetensors and onnx/model_quantized.onnx; pipeline q8 loads it', async () => {
    const out = join(tmp, 'vit-q8');
    const r = await runCli(['--dtype', 'q8', '--json', 'export', 'onnx', '--model', vit, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [info] = r.json();
    expect(info).toMatchObject({
      dtype: 'q8',
      weights: 'model.q8.safetensors',
      task: 'image-classification',
    });
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    for (const f of [
      'config.json',
      'preprocessor_config.json',
      'model.q8.safetensors',
      'onnx/model_quantized.onnx',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const fp32Bytes = statSync(join(vit, 'model.safetensors')).size;
    const ratio = statSync(join(out, 'model.q8.safetensors')).size / fp32Bytes;
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(0.28); // int8 matrices + fp32 scales, biases, norms, position embeddings
    expect(readFileSync(join(out, 'onnx/model_quantized.onnx')).length / fp32Bytes).toBeLessThan(0.3);

    // tfjs dequantises the q8 file: the same numbers as the fp32 weights rounded to q8 (the CLI's wasm q8)
    const pipe = await vitPipeline('image-classification', out, { dtype: 'q8', device: 'wasm' });
    const fromFile = (await pipe(files, { top_k: 5 })) as Pred[][];
    await pipe.dispose();
    const rounded = await classify('q8', 'wasm');
    for (const [i, p] of rounded.entries())
      for (const [k, { label, score }] of p.entries()) {
        expect(fromFile[i][k].label).toBe(label);
        expect(Math.abs(fromFile[i][k].score - score)).toBeLessThan(1e-4);
      }
    // and the CLI runs the folder, natively too
    const native = await classify('q8', 'native', out);
    expect(native.map((p) => p[0].label)).toEqual(rounded.map((p) => p[0].label));
  });

  const texts = [
    'Win a free cruise now, click here',
    'The meeting moved to Thursday at ten.',
    'Your account statement is attached',
    'cheap meds online no prescription',
  ];

  for (const device of ['native', 'wasm']) {
    it(`embed --dtype q8 vectors have cosine >= 0.99 to fp32 (${device})`, async () => {
      const embed = async (dtype: string) => {
        const r = await runCli(['--device', device, '--dtype', dtype, 'embed'], texts.join('\n'));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        return r.json().map((l) => l.embedding as number[]);
      };
      const fp32 = await embed('fp32');
      const q8 = await embed('q8');
      const fp16 = await embed('fp16');
      const cq8 = Math.min(...fp32.map((v, i) => relativeError(q8[i], v).cos));
      const cfp16 = Math.min(...fp32.map((v, i) => relativeError(fp16[i], v).cos));
      console.log(`embed ${device}: min cosine q8 ${cq8.toFixed(6)}, fp16 ${cfp16.toFixed(6)}`);
      expect(cq8).toBeGreaterThanOrEqual(0.99);
      expect(cfp16).toBeGreaterThanOrEqual(0.9999);
      expect(relativeError(q8.flat(), fp32.flat()).rel).toBeGreaterThan(0); // q8 really ran
    });
  }

  it("embed --db records the dtype; search embeds queries with the table's, refuses another", async () => {
    const db = join(tmp, 'store-q8');
    const w = await runCli(['--device', 'wasm', '--dtype', 'q8', 'embed', '--db', db], texts.join('\n'));
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    const s = await runCli(['--device', 'wasm', '--json', 'search', '--db', db, '--top', '1', texts[3]]);
    expect(s.stderr).toBe('');
    const [hit] = s.json();
    expect(hit.text).toBe(texts[3]);
    // the query's own document, embedded by the same q8 weights: cosine 1 (an fp32 query would not be)
    expect(Math.abs((hit.score as number) - 1)).toBeLessThan(1e-5);
    const bad = await runCli(['--dtype', 'fp32', 'search', '--db', db, texts[3]]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/DTypeMismatchError: --dtype fp32: .* made at dtype q8/);
    const mixed = await runCli(['--device', 'wasm', '--dtype', 'fp32', 'embed', '--db', db], 'another text');
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/"dtype":"q8".*"dtype":"fp32"/);
  });

  it('serve --dtype q8: /healthz says q8, the server classifies with q8 weights (= pipeline q8 to 1e-4)', async () => {
    const image = fixturePath('vit-tiny-random');
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      backend: await initBackend('wasm'),
      device: 'wasm',
      dtype: 'q8',
      imageModel: image,
      textModel: fixturePath('bert-tiny-random'),
      maxBatch: 4,
      windowMs: 5,
      maxQueue: 8,
      maxBodyBytes: 1 << 20,
    });
    try {
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as { dtype: string };
      expect(health.dtype).toBe('q8');
      const png = fixturePath('golden', 'images', 'noise_300x250.png');
      const res = await fetch(`${server.url}/v1/classify-image?top=5`, {
        method: 'POST',
        body: readFileSync(png),
        headers: { 'content-type': 'image/png' },
      });
      const { predictions } = (await res.json()) as { predictions: Pred[] };
      const want = async (dtype: 'q8' | 'fp32') => {
        const pipe = await vitPipeline('image-classification', image, { dtype, device: 'wasm' });
        const out = (await pipe(png, { top_k: 5 })) as Pred[];
        await pipe.dispose();
        return out;
      };
      const q8 = await want('q8');
      for (const [i, p] of predictions.entries()) {
        expect(p.label).toBe(q8[i].label);
        expect(Math.abs(p.score - q8[i].score)).toBeLessThan(1e-4);
      }
      const fp32 = await want('fp32');
      const drift = Math.max(
        ...fp32.map((p) => Math.abs(p.score - (predictions.find((x) => x.label === p.label)?.score ?? 0))),
      );
      expect(drift).toBeGreaterThan(0); // the server did not run fp32
    } finally {
      await server.close();
    }
  });
});
