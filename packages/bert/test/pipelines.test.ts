import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadSafetensors,
  MissingWeightsError,
  PipelineError,
  type ProgressEvent,
  Tensor,
  tf,
  writeSafetensors,
} from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { BertTokenizer } from '@attn/text-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BertForMaskedLM,
  BertInputError,
  type FeatureExtractionPipeline,
  type FillMaskPipeline,
  type FillMaskResult,
  pipeline,
  type TextClassificationPipeline,
} from '../src/index.js';
import { GOLD_DIR, haveFixtures, readGolden } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: golden JSON
type Case = any;

const gold: Case[] = haveFixtures() ? readGolden('bert-tiny-random.json').inputs : [];
const byName = (n: string) => gold.find((c) => c.name === n);
const LABELS = ['negative', 'neutral', 'positive'];

/** HF's per-text vectors from the golden last hidden state: what sentence-transformers computes. */
function expectedVectors(c: Case, pooling: 'mean' | 'cls' | 'max', normalize: boolean): number[][] {
  return c.texts.map((_: string, i: number) => {
    const hidden = c.last_hidden_state[i] as number[][];
    const real = hidden.filter((_, t) => c.attention_mask[i][t] === 1);
    const v = hidden[0]!.map((first, d) =>
      pooling === 'cls'
        ? first
        : pooling === 'max'
          ? Math.max(...real.map((row) => row[d]!))
          : real.reduce((s, row) => s + row[d]!, 0) / real.length,
    );
    const norm = normalize ? Math.hypot(...v) : 1;
    return v.map((x) => x / norm);
  });
}

/** max |a − b|, after checking the lengths agree. */
function maxDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

function expectRowsClose(actual: Tensor, expected: number[][], tol: number) {
  expect(actual).toBeInstanceOf(Tensor);
  expect(actual.dims).toEqual([expected.length, expected[0]!.length]);
  const rows = actual.tolist() as number[][];
  expect(maxDiff(rows.flat(), expected.flat())).toBeLessThan(tol);
}

// First in the file: nothing has started a tfjs backend or chosen a device yet.
describe.skipIf(!haveFixtures('bert pipelines'))('pipeline with no options and no initBackend', () => {
  it("starts the device itself; 'auto' picks native (onnxruntime-node is installed here) and says so", async () => {
    const events: ProgressEvent[] = [];
    const classify = await pipeline('text-classification', GOLD_DIR(), {
      progress_callback: (e) => events.push(e),
    });
    try {
      expect(classify.device).toMatchObject({ device: 'native', engine: 'onnx' });
      const c = byName('single-1');
      const [top] = await classify(c.text);
      const z = c.seq_cls_logits[0] as number[];
      const best = z.indexOf(Math.max(...z));
      expect(top).toMatchObject({ label: LABELS[best] });
      const files = events.filter((e) => e.status === 'done').map((e) => (e as { file: string }).file);
      expect(files).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']));
      expect(events.at(-1)).toEqual({ status: 'ready', task: 'text-classification', model: GOLD_DIR() });
    } finally {
      await classify.dispose();
    }
  });
});

// Every task on both engines: tfjs (cpu) and native (onnxruntime-node, the same weights compiled at load).
describe.skipIf(!haveFixtures('bert pipelines')).each(['cpu', 'native'] as const)(
  'pipelines on bert-tiny-random (HF gold), device %s',
  (device) => {
    let fill: FillMaskPipeline;
    let classify: TextClassificationPipeline;
    let embed: FeatureExtractionPipeline;
    beforeAll(async () => {
      fill = await pipeline('fill-mask', GOLD_DIR(), { device });
      classify = await pipeline('text-classification', GOLD_DIR(), { device });
      embed = await pipeline('feature-extraction', GOLD_DIR(), { device, threads: 1 });
    });
    afterAll(async () => {
      for (const p of [fill, classify, embed]) await p?.dispose();
    });

    it('reports the engine that runs', () => {
      expect(fill.device.device).toBe(device);
      expect(embed.device.engine).toBe(device === 'native' ? 'onnx' : 'tfjs');
    });

    it('fill-mask: HF top-5 at the mask as [{ score, token, token_str, sequence }]', async () => {
      const c = byName('single-2-mask');
      const at = c.input_ids[0].indexOf(103);
      const predictions = (await fill(c.text, { top_k: 5 })) as FillMaskResult[];
      expect(predictions.map((p) => p.token)).toEqual(c.mlm.top5_ids[0][at]);
      const lse = c.mlm.logsumexp[0][at];
      predictions.forEach((p, k) => {
        expect(Math.abs(p.score - Math.exp(c.mlm.top5_logits[0][at][k] - lse))).toBeLessThan(1e-4);
      });
      expect(predictions[0]!.sequence).toBe(
        `paris is the ${predictions[0]!.token_str} of france.`.replace(' ##', ''),
      );
      await expect(fill('no mask here')).rejects.toThrow(BertInputError);
      // the deprecated .call(): one list per mask, camelCase
      const [old] = await fill.call(c.text, { topK: 5 });
      expect(old!.map((p) => [p.token, p.tokenStr])).toEqual(predictions.map((p) => [p.token, p.token_str]));
    });

    it('fill-mask: every [MASK] of a text gets its own list (each the MLM top-k at its position)', async () => {
      const text = 'the [MASK] sat on the [MASK] .';
      const lists = (await fill(text, { top_k: 3 })) as FillMaskResult[][];
      expect(lists).toHaveLength(2);
      const tok = await BertTokenizer.fromPretrained(GOLD_DIR());
      const enc = tok.encode(text);
      const masks = enc.inputIds.flatMap((id, t) => (id === tok.maskTokenId ? [t] : []));
      const mlm = await BertForMaskedLM.fromPretrained(GOLD_DIR());
      const { predictionLogits } = mlm.forward({ inputIds: [enc.inputIds] });
      const probs = tf.tidy(() => tf.softmax(tf.squeeze(predictionLogits!, [0])));
      const rows = (await probs.array()) as number[][];
      tf.dispose([predictionLogits!, probs]);
      mlm.dispose();
      masks.forEach((pos, m) => {
        const want = rows[pos]!.map((p, id) => [p, id] as const).sort((a, b) => b[0] - a[0]);
        expect(lists[m]!.map((p) => p.token)).toEqual(want.slice(0, 3).map(([, id]) => id));
        expect(
          maxDiff(
            lists[m]!.map((p) => p.score),
            want.slice(0, 3).map(([p]) => p),
          ),
        ).toBeLessThan(1e-4);
      });
      const batch = (await fill([text, 'a [MASK] day.'], { top_k: 2 })) as unknown[][];
      expect(batch).toHaveLength(2);
      expect(batch[0]).toHaveLength(2); // two masks: two lists
      expect((batch[1]![0] as FillMaskResult).token_str).toBeTypeOf('string'); // one mask: one flat list
    });

    it('text-classification: softmax of HF logits as [{ label, score }], top_k, text_pair, batches', async () => {
      const c = byName('pair-1');
      const all = await classify(c.text, { text_pair: c.text_pair, top_k: null });
      const z = c.seq_cls_logits[0] as number[];
      const sum = z.reduce((s, v) => s + Math.exp(v), 0);
      const expected = z.map((v, i) => ({ label: LABELS[i]!, score: Math.exp(v) / sum }));
      expected.sort((a, b) => b.score - a.score);
      expect(all).toHaveLength(3);
      (all as { label: string; score: number }[]).forEach((r, i) => {
        expect(r.label).toBe(expected[i]!.label);
        expect(Math.abs(r.score - expected[i]!.score)).toBeLessThan(1e-4);
      });
      expect(await classify(c.text, { text_pair: c.text_pair })).toEqual([all[0]]);
      const batch = await classify(['one', 'two'], { top_k: 2 });
      expect(batch).toHaveLength(2);
      expect((batch as unknown[][])[0]).toHaveLength(2);
      const [old] = await classify.call(c.text, { textPair: c.text_pair, topK: null });
      expect(old).toEqual(all);
    });

    it("feature-extraction: a Tensor; pooling 'none' is the HF last hidden state, mean/cls/max over real tokens", async () => {
      const c = byName('batch-3-padded');
      const tokens = await embed(c.texts);
      expect(tokens.dims).toEqual([3, 15, 32]);
      const want = (c.last_hidden_state as number[][][]).flat(2);
      expect(maxDiff(Array.from(tokens.data), want)).toBeLessThan(1e-4);
      for (const pooling of ['mean', 'cls', 'max'] as const)
        for (const normalize of [false, true])
          expectRowsClose(
            await embed(c.texts, { pooling, normalize }),
            expectedVectors(c, pooling, normalize),
            1e-4,
          );
      // the deprecated .call() and stream(): one Float32Array per text, 'mean' by default
      const mean = await embed.call(c.texts, { normalize: true });
      async function* docs() {
        yield* c.texts as string[];
      }
      const streamed: Float32Array[] = [];
      for await (const v of embed.stream(docs(), { normalize: true, batchSize: 2 })) streamed.push(v);
      const want2 = expectedVectors(c, 'mean', true);
      [mean, streamed].forEach((vs) => {
        expect(vs).toHaveLength(3);
        expect(
          maxDiff(
            vs.flatMap((v) => Array.from(v)),
            want2.flat(),
          ),
        ).toBeLessThan(1e-4);
      });
    });

    it('truncates texts longer than max_position_embeddings instead of failing', async () => {
      const long = 'the quick brown fox '.repeat(100); // 400 words
      expect((await embed(long, { pooling: 'cls' })).dims).toEqual([1, 32]);
      const [top] = (await classify(long)) as { score: number }[];
      expect(top!.score).toBeGreaterThan(0);
    });

    it('leaves no tensor behind across 1,000 pipeline calls', async () => {
      await expectNoLeaks(async () => {
        for (let i = 0; i < 600; i++)
          await embed(['short text', `number ${i}`], {
            pooling: (['mean', 'cls', 'max', 'none'] as const)[i % 4],
            normalize: i % 3 === 0,
          });
        for (let i = 0; i < 300; i++) await classify(`sentence ${i}`, { top_k: null });
        for (let i = 0; i < 100; i++) await fill(`a [MASK] ${i} [MASK].`, { top_k: 2 });
      }, '1,000 pipeline calls');
      // the tfjs models hold their weights; on native the weights live in onnxruntime, not tfjs
      if (device === 'cpu') expect(tf.memory().numTensors).toBeGreaterThan(0);
    });
  },
);

describe.skipIf(!haveFixtures('bert model folders'))('real model folders', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attn-st-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** bert-tiny-random as a sentence-transformers folder with only tokenizer.json (no vocab.txt). */
  async function stFolder(
    name: string,
    pooling: 'mean' | 'cls' | 'max',
    normalize: boolean,
  ): Promise<string> {
    const d = join(dir, name);
    await mkdir(join(d, '1_Pooling'), { recursive: true });
    await copyFile(join(GOLD_DIR(), 'config.json'), join(d, 'config.json'));
    await copyFile(join(GOLD_DIR(), 'model.safetensors'), join(d, 'model.safetensors'));
    await (await BertTokenizer.fromPretrained(GOLD_DIR())).save(d);
    await unlink(join(d, 'vocab.txt'));
    const modules = [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      ...(normalize
        ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }]
        : []),
    ];
    await writeFile(join(d, 'modules.json'), JSON.stringify(modules));
    await writeFile(
      join(d, '1_Pooling', 'config.json'),
      JSON.stringify({
        word_embedding_dimension: 32,
        pooling_mode_cls_token: pooling === 'cls',
        pooling_mode_mean_tokens: pooling === 'mean',
        pooling_mode_max_tokens: pooling === 'max',
        pooling_mode_mean_sqrt_len_tokens: false,
      }),
    );
    return d;
  }

  it("a sentence-transformers folder gives sentence-transformers' vectors with no options (mean, cls, max; Normalize)", async () => {
    const c = byName('batch-3-padded');
    for (const [pooling, normalize] of [
      ['mean', true],
      ['cls', false],
      ['max', true],
    ] as const) {
      const embed = await pipeline(
        'feature-extraction',
        await stFolder(`${pooling}-${normalize}`, pooling, normalize),
        {
          device: 'cpu',
        },
      );
      try {
        expect(embed.tokenizer.vocabSize).toBe(30522);
        expectRowsClose(await embed(c.texts), expectedVectors(c, pooling, normalize), 1e-4);
        expect((await embed(c.texts, { pooling: 'none' })).dims).toEqual([3, 15, 32]); // options still win
      } finally {
        await embed.dispose();
      }
    }
  });

  it('a sentence-transformers hub id downloads modules.json and 1_Pooling/config.json and gives their vectors', async () => {
    const repo = await stFolder('hub-max', 'max', true);
    const server = createServer((req, res) => {
      const m = /^\/st\/max\/resolve\/main\/(.+)$/.exec(req.url!);
      const path = m && join(repo, ...m[1]!.split('/').map(decodeURIComponent));
      if (!path || !existsSync(path) || !statSync(path).isFile()) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(path));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const cacheDir = join(dir, 'hub-cache');
      const events: ProgressEvent[] = [];
      const embed = await pipeline('feature-extraction', 'st/max', {
        device: 'cpu',
        endpoint,
        cacheDir,
        progress_callback: (e) => events.push(e),
      });
      try {
        // transformers.js' events for a fetched file: initiate, download, progress (loaded of total), done
        const pooling = readFileSync(join(repo, '1_Pooling', 'config.json')).byteLength;
        const file = '1_Pooling/config.json';
        const ofFile = events.filter((e) => 'file' in e && e.file === file);
        expect(ofFile.map((e) => e.status).filter((s, i, all) => s !== all[i - 1])).toEqual([
          'initiate',
          'download',
          'progress',
          'done',
        ]);
        expect(ofFile.at(-2)).toEqual({
          status: 'progress',
          name: 'st/max',
          file,
          progress: 100,
          loaded: pooling,
          total: pooling,
        });
        expect(events.at(-1)).toEqual({ status: 'ready', task: 'feature-extraction', model: 'st/max' });
        const c = byName('batch-3-padded');
        expectRowsClose(await embed(c.texts), expectedVectors(c, 'max', true), 1e-4);
      } finally {
        await embed.dispose();
      }
      expect(existsSync(join(cacheDir, 'st', 'max', 'main', '1_Pooling', 'config.json'))).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it('a Dense module or an unsupported pooling mode is a typed error naming the file', async () => {
    const d = await stFolder('dense', 'mean', false);
    await writeFile(
      join(d, 'modules.json'),
      JSON.stringify([
        { path: '', type: 'sentence_transformers.models.Transformer' },
        { path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
        { path: '2_Dense', type: 'sentence_transformers.models.Dense' },
      ]),
    );
    await expect(pipeline('feature-extraction', d, { device: 'cpu' })).rejects.toThrow(
      /modules\.json.*Dense/,
    );
    const w = await stFolder('weighted', 'mean', false);
    await writeFile(
      join(w, '1_Pooling', 'config.json'),
      JSON.stringify({ pooling_mode_weightedmean_tokens: true }),
    );
    await expect(pipeline('feature-extraction', w, { device: 'cpu' })).rejects.toThrow(PipelineError);
    await expect(pipeline('feature-extraction', w, { device: 'cpu' })).rejects.toThrow(
      /1_Pooling.*weightedmean/,
    );
  });

  it.each(['cpu', 'native'] as const)(
    'a head missing from the checkpoint is a MissingWeightsError naming the tensors and folder (%s); allowRandomHead opts in',
    async (device) => {
      const d = join(dir, `no-classifier-${device}`);
      await mkdir(d, { recursive: true });
      await copyFile(join(GOLD_DIR(), 'config.json'), join(d, 'config.json'));
      await copyFile(join(GOLD_DIR(), 'vocab.txt'), join(d, 'vocab.txt'));
      const tensors = await loadSafetensors(join(GOLD_DIR(), 'model.safetensors'));
      for (const k of [...tensors.keys()].filter(
        (k) => k.startsWith('classifier.') || k.startsWith('cls.'),
      )) {
        tensors.get(k)!.dispose();
        tensors.delete(k);
      }
      await writeSafetensors(join(d, 'model.safetensors'), tensors);
      for (const t of tensors.values()) t.dispose();
      const before = tf.memory().numTensors;
      const err = await pipeline('text-classification', d, { device }).catch((e) => e);
      expect(err).toBeInstanceOf(MissingWeightsError);
      expect(err.missing).toEqual(['classifier.weight', 'classifier.bias']);
      expect(err.message).toContain(d);
      await expect(pipeline('fill-mask', d, { device })).rejects.toThrow(/cls\.predictions\.bias/);
      expect(tf.memory().numTensors).toBe(before);
      const info: string[][] = [];
      const tuned = await pipeline('text-classification', d, {
        device,
        allowRandomHead: true,
        onLoadingInfo: (i) => info.push(i.missing),
      });
      expect(info).toEqual([['classifier.weight', 'classifier.bias']]);
      expect(await tuned('still runs')).toHaveLength(1);
      await tuned.dispose();
      // feature extraction needs no head, and no pooler either
      const embed = await pipeline('feature-extraction', d, { device });
      expect((await embed('x', { pooling: 'cls' })).dims).toEqual([1, 32]);
      await embed.dispose();
    },
  );

  it('an unsupported dtype and an unknown device are typed errors', async () => {
    await expect(pipeline('fill-mask', GOLD_DIR(), { dtype: 'q4' as never })).rejects.toThrow(
      /UNSUPPORTED_DTYPE/,
    );
    await expect(pipeline('fill-mask', GOLD_DIR(), { device: 'gpu' as never })).rejects.toThrow(
      PipelineError,
    );
  });
});
