import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertModel } from '../bert-model.js';
import { BertForSequenceClassification } from '../classification.js';
import { pipeline as attnPipeline } from '../pipelines.js';
import { BertForMaskedLM } from '../pretraining.js';
import { exportTransformersJsFolder } from './transformers-js.js';

interface GoldenInput {
  name: string;
  text: string;
  text_pair?: string;
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  last_hidden_state: number[][][];
  seq_cls_logits: number[][];
  mlm: { argmax: number[][] };
}

const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

describe.skipIf(!haveFixtures('transformers.js interop'))('transformers.js loads our exported folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'attn-tjs-'));
  const fixture = () => fixturePath('bert-tiny-random');
  const vocabFile = fixturePath('bert-tiny-random', 'vocab.txt');
  let golden: GoldenInput[];
  let singles: GoldenInput[];

  beforeAll(async () => {
    await initBackend('cpu');
    golden = JSON.parse(readFileSync(fixturePath('golden', 'bert-tiny-random.json'), 'utf8')).inputs;
    singles = golden.filter((x) => x.name.startsWith('single'));
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = root;
    env.useBrowserCache = false;
    env.useFSCache = false;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function exportModel<M extends BertForSequenceClassification | BertModel | BertForMaskedLM>(
    cls: { fromPretrained(dir: string): Promise<M> },
    name: string,
    dtypes?: ('fp32' | 'fp16' | 'q8')[],
  ) {
    const model = await cls.fromPretrained(fixture());
    try {
      await exportTransformersJsFolder(model, join(root, name), { vocabFile, dtypes });
    } finally {
      model.dispose();
    }
    return model;
  }

  it('its tokenizer (our tokenizer.json) gives the golden ids', async () => {
    await exportModel(BertModel, 'bert-base');
    const tok = await AutoTokenizer.from_pretrained('bert-base');
    for (const x of singles) expect(tok.encode(x.text)).toEqual(x.input_ids[0]);
    for (const x of golden.filter((g) => g.name.startsWith('pair'))) {
      const enc = tok(x.text, { text_pair: x.text_pair, return_tensor: false }) as Record<string, number[]>;
      expect(enc.input_ids).toEqual(x.input_ids[0]);
      expect(enc.token_type_ids).toEqual(x.token_type_ids[0]);
    }
  });

  it('text-classification: same label and score as our model and as HF', async () => {
    await exportModel(BertForSequenceClassification, 'bert-cls');
    const ours = await BertForSequenceClassification.fromPretrained(fixture());
    const classify = await pipeline('text-classification', 'bert-cls', { dtype: 'fp32' });
    const labels = ['negative', 'neutral', 'positive'];
    for (const x of singles) {
      const logits = tf.tidy(
        () => ours.forward({ inputIds: x.input_ids, tokenTypeIds: x.token_type_ids }).logits,
      );
      const ourProbs = softmax([...(logits.dataSync() as Float32Array)]);
      logits.dispose();
      const goldProbs = softmax(x.seq_cls_logits[0]);
      const best = goldProbs.indexOf(Math.max(...goldProbs));
      expect(ourProbs.indexOf(Math.max(...ourProbs))).toBe(best);
      const [top] = (await classify(x.text)) as { label: string; score: number }[];
      expect(top.label).toBe(labels[best]);
      expect(Math.abs(top.score - goldProbs[best])).toBeLessThan(1e-5);
    }
    ours.dispose();
  });

  it('feature-extraction: token embeddings equal HF last_hidden_state to 1e-4', async () => {
    const extract = await pipeline('feature-extraction', 'bert-base', { dtype: 'fp32' });
    for (const x of singles) {
      const out = await extract(x.text);
      expect(out.dims).toEqual([1, x.input_ids[0].length, 32]);
      const want = x.last_hidden_state.flat(2);
      const got = out.data as Float32Array;
      let m = 0;
      for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
      expect(m).toBeLessThan(1e-4);
    }
  });

  it("dtype 'q8': transformers.js runs our model_quantized.onnx as attn's q8 does, near fp32", async () => {
    await exportModel(BertModel, 'bert-q8', ['fp32', 'q8']);
    const size = (f: string) => readFileSync(join(root, 'bert-q8', 'onnx', f)).byteLength;
    // Linear weights shrink 4×; embeddings (most of this tiny model) stay fp32, as in transformers.js' q8 files
    expect(size('model_quantized.onnx')).toBeLessThan(size('model.onnx'));
    const theirs = await pipeline('feature-extraction', 'bert-q8', { dtype: 'q8' });
    const fp32 = await pipeline('feature-extraction', 'bert-q8', { dtype: 'fp32' });
    const ours = await attnPipeline('feature-extraction', join(root, 'bert-q8'), {
      device: 'native',
      dtype: 'q8',
    });
    for (const x of singles) {
      const t = (await theirs(x.text, { pooling: 'mean' })).data as Float32Array;
      const f = (await fp32(x.text, { pooling: 'mean' })).data as Float32Array;
      const o = (await ours(x.text, { pooling: 'mean' })).data as Float32Array;
      let same = 0;
      let dot = 0;
      let ff = 0;
      let tt = 0;
      for (let i = 0; i < t.length; i++) {
        same = Math.max(same, Math.abs(t[i]! - o[i]!));
        dot += t[i]! * f[i]!;
        ff += f[i]! * f[i]!;
        tt += t[i]! * t[i]!;
      }
      expect(same).toBeLessThan(1e-4); // the same graph, the same quantised weights
      expect(dot / Math.sqrt(ff * tt)).toBeGreaterThan(0.99);
      expect(Math.max(...t.map((v, i) => Math.abs(v - f[i]!)))).toBeGreaterThan(1e-6); // q8 really ran
    }
    await ours.dispose();
  });

  it("dtype 'fp16': transformers.js runs our model_fp16.onnx (half the file) as attn's tfjs fp16 does, near HF", async () => {
    await exportModel(BertModel, 'bert-fp16', ['fp32', 'fp16']);
    const size = (f: string) => readFileSync(join(root, 'bert-fp16', 'onnx', f)).byteLength;
    expect(size('model_fp16.onnx') / size('model.onnx')).toBeGreaterThan(0.49);
    expect(size('model_fp16.onnx') / size('model.onnx')).toBeLessThan(0.51);
    const theirs = await pipeline('feature-extraction', 'bert-fp16', { dtype: 'fp16' });
    const ours = await attnPipeline('feature-extraction', join(root, 'bert-fp16'), {
      device: 'cpu',
      dtype: 'fp16',
    });
    for (const x of singles) {
      const t = (await theirs(x.text)).data as Float32Array;
      const o = (await ours(x.text)).data as Float32Array;
      const want = x.last_hidden_state.flat(2);
      let same = 0;
      let off = 0;
      let big = 0;
      for (let i = 0; i < want.length; i++) {
        same = Math.max(same, Math.abs(t[i]! - o[i]!));
        off = Math.max(off, Math.abs(t[i]! - want[i]!));
        big = Math.max(big, Math.abs(want[i]!));
      }
      expect(same).toBeLessThan(1e-4); // the same half-precision weights, float32 compute in both
      expect(off / big).toBeLessThan(3e-3); // fp16 weights: ~1e-3 of the largest value from HF's fp32
      expect(off).toBeGreaterThan(1e-6); // the weights really were rounded
    }
    await ours.dispose();
  });

  it('fill-mask: the top token at [MASK] is HF’s argmax', async () => {
    await exportModel(BertForMaskedLM, 'bert-mlm');
    const fill = await pipeline('fill-mask', 'bert-mlm', { dtype: 'fp32' });
    const x = golden.find((g) => g.name.includes('mask'))!;
    const maskPos = x.input_ids[0].indexOf(103);
    const [top] = (await fill(x.text)) as { token: number }[];
    expect(top.token).toBe(x.mlm.argmax[0][maskPos]);
  });
});
