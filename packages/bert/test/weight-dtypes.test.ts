import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackendName, initBackend, readSafetensors, SafetensorsError, tf } from '@attn/core-tensor';
import { relativeError } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForPreTraining, BertForSequenceClassification, BertModel, pipeline } from '../src/index.js';
import { backends, GOLD_DIR, haveFixtures, readGolden } from './helpers.js';

const BACKENDS = await backends();

/** A safetensors file as its header entries and the raw bytes of each tensor. */
function unpack(path: string) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const { __metadata__: meta, ...entries } = header as Record<string, never>;
  const tensors = Object.entries(entries).map(([name, e]) => {
    const {
      dtype,
      shape,
      data_offsets: [b, end],
    } = e as { dtype: string; shape: number[]; data_offsets: [number, number] };
    return { name, dtype, shape, bytes: buf.subarray(8 + n + b, 8 + n + end) };
  });
  return { meta, tensors, dataBytes: buf.byteLength - 8 - n };
}

function pack(
  path: string,
  meta: unknown,
  tensors: { name: string; dtype: string; shape: number[]; bytes: Buffer }[],
) {
  const header: Record<string, unknown> = { __metadata__: meta };
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.byteLength] };
    at += t.bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.byteLength));
  writeFileSync(path, Buffer.concat([len, json, ...tensors.map((t) => t.bytes)]));
}

const flat = (x: unknown) => (x as number[]).flat(Number.POSITIVE_INFINITY) as number[];

describe.skipIf(!haveFixtures('bert weight dtypes'))('BERT weights stored as fp16 and q8', () => {
  const root = mkdtempSync(join(tmpdir(), 'attn-bert-dtypes-'));
  const dir = join(root, 'pre');
  beforeAll(async () => {
    await initBackend('cpu');
    const m = await BertForPreTraining.fromPretrained(GOLD_DIR());
    for (const dtype of ['fp32', 'fp16', 'q8'] as const) await m.save(dir, { dtype });
    m.dispose();
    for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(GOLD_DIR(), f), join(dir, f));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('fp16 is half of fp32 byte for byte; q8 stores the matrix weights (embeddings included) in one byte', () => {
    const fp32 = unpack(join(dir, 'model.safetensors'));
    const q8Bytes = fp32.tensors.reduce((a, t) => {
      const n = t.bytes.byteLength / 4;
      return a + (t.name.endsWith('.weight') && t.shape.length >= 2 ? n + 4 * t.shape[0]! : 4 * n);
    }, 0);
    expect(unpack(join(dir, 'model.fp16.safetensors')).dataBytes).toBe(fp32.dataBytes / 2);
    const q8 = unpack(join(dir, 'model.q8.safetensors'));
    expect(q8.dataBytes).toBe(q8Bytes);
    const ratio =
      statSync(join(dir, 'model.q8.safetensors')).size / statSync(join(dir, 'model.safetensors')).size;
    console.log(`bert-tiny-random: q8 file ${ratio.toFixed(3)}× fp32`);
    // (1 + 4/32)/4 = 0.28 of the data: at hidden size 32 each row's 4-byte scale costs 1/8 of the row.
    expect(ratio).toBeLessThan(0.31);
    const dtypes = Object.fromEntries(q8.tensors.map((t) => [t.name, t.dtype]));
    expect(dtypes['bert.embeddings.word_embeddings.weight']).toBe('I8');
    expect(dtypes['bert.encoder.layer.0.attention.self.query.weight_scale']).toBe('F32');
    expect(dtypes['bert.embeddings.LayerNorm.weight']).toBe('F32');
    expect(dtypes['cls.predictions.bias']).toBe('F32');
  });

  for (const backend of BACKENDS)
    it(`fromPretrained({ dtype }) on ${backend}: hidden states and pooler near HF's gold, loading info as fp32's, no leaks`, async () => {
      await initBackend(backend as BackendName);
      const gold = readGolden('bert-tiny-random.json').inputs.find(
        (c: { name: string }) => c.name === 'batch-3-padded',
      );
      for (const dtype of ['fp16', 'q8'] as const) {
        const before = tf.memory().numTensors;
        const model = await BertModel.fromPretrained(dir, { dtype });
        // the scales are not tensors of the model: nothing extra is reported
        expect(model.loadingInfo!.missing).toEqual([]);
        expect(model.loadingInfo!.unexpected.filter((n) => n.endsWith('_scale'))).toEqual([]);
        const out = model.forward(
          { inputIds: gold.input_ids, attentionMask: gold.attention_mask, tokenTypeIds: gold.token_type_ids },
          { outputHiddenStates: true },
        );
        const hidden = relativeError(await out.lastHiddenState.data(), flat(gold.last_hidden_state));
        const pooled = relativeError(await out.poolerOutput!.data(), flat(gold.pooler_output));
        tf.dispose([out.lastHiddenState, out.poolerOutput!, ...out.hiddenStates!]);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
        console.log(
          `${backend} ${dtype}: hidden rel ${hidden.rel.toExponential(2)} cos ${hidden.cos}; pooler rel ${pooled.rel.toExponential(2)}`,
        );
        if (dtype === 'fp16') {
          // Each weight is within 2^-11 of itself (relative): through two layers and LayerNorms, ~1e-3 of the
          // largest value (measured 1.1e-3); the pooler's dense + tanh on top, 3.7e-3.
          expect(hidden.rel).toBeLessThan(3e-3);
          expect(pooled.rel).toBeLessThan(6e-3);
          expect(hidden.rel).toBeGreaterThan(0);
        } else {
          expect(hidden.cos).toBeGreaterThan(0.99);
          expect(pooled.cos).toBeGreaterThan(0.99);
        }
      }
    });

  it('a classifier loads a q8 pre-training folder: its head missing, the MLM head unexpected, as from fp32', async () => {
    await initBackend('cpu');
    const a = await BertForSequenceClassification.fromPretrained(dir, { dtype: 'q8' });
    const b = await BertForSequenceClassification.fromPretrained(join(dir), { dtype: 'fp32' });
    expect(a.loadingInfo!.missing).toEqual(['classifier.weight', 'classifier.bias']);
    expect([...a.loadingInfo!.unexpected].sort()).toEqual([...b.loadingInfo!.unexpected].sort());
    a.dispose();
    b.dispose();
  });

  it('q8 sentence vectors (tfjs wasm, from the q8 file) have cosine ≥ 0.99 to fp32 vectors', async () => {
    const texts = readGolden('bert-tiny-random.json').inputs.flatMap(
      (c: { text?: string; texts?: string[] }) => c.texts ?? (c.text ? [c.text] : []),
    );
    const vectors = async (dtype: 'fp32' | 'q8') => {
      const embed = await pipeline('feature-extraction', dir, { device: 'wasm', dtype });
      const v = await embed.call(texts, { pooling: 'mean', normalize: true });
      await embed.dispose();
      return v;
    };
    const [fp32, q8] = [await vectors('fp32'), await vectors('q8')];
    const cos = fp32.map((v, i) => relativeError(q8[i]!, v).cos);
    console.log(`q8 sentence vectors: min cosine ${Math.min(...cos)} over ${cos.length} texts`);
    expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.99);
    expect(Math.min(...cos)).toBeLessThan(1); // really quantised
  });

  it('sharded q8: each weight beside its scale, HF variant names, loads as the single file does', async () => {
    await initBackend('cpu');
    const sharded = join(root, 'sharded');
    const m = await BertForPreTraining.fromPretrained(dir, { dtype: 'q8' });
    await m.save(sharded, { dtype: 'q8', maxShardBytes: 400_000 });
    m.dispose();
    const files = readdirSync(sharded).sort();
    expect(files).toContain('model.safetensors.index.q8.json');
    const shards = files.filter((f) => /^model\.q8-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    const index = JSON.parse(readFileSync(join(sharded, 'model.safetensors.index.q8.json'), 'utf8'));
    for (const [name, shard] of Object.entries(index.weight_map))
      if (name.endsWith('_scale')) expect(index.weight_map[name.slice(0, -6)], name).toBe(shard);
    const one = await readSafetensors(join(dir, 'model.q8.safetensors'));
    const many = await readSafetensors(join(sharded, 'model.safetensors.index.q8.json'));
    expect([...many.keys()].sort()).toEqual([...one.keys()].sort());
    for (const [k, t] of one)
      expect(Buffer.from(many.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
  });

  it('a q8 file without a scale, or with a scale of the wrong dtype, is a typed error naming file and tensor', async () => {
    await initBackend('cpu');
    const weight = 'bert.encoder.layer.0.attention.self.query.weight';
    const { meta, tensors } = unpack(join(dir, 'model.q8.safetensors'));
    const bad = (label: string, edit: typeof tensors) => {
      const d = join(root, label);
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d);
      copyFileSync(join(dir, 'config.json'), join(d, 'config.json'));
      pack(join(d, 'model.q8.safetensors'), meta, edit);
      return d;
    };
    const cases = [
      {
        d: bad(
          'no-scale',
          tensors.filter((t) => t.name !== `${weight}_scale`),
        ),
        code: 'MISSING_SCALE',
        tensor: weight,
      },
      {
        d: bad(
          'int-scale',
          tensors.map((t) => (t.name === `${weight}_scale` ? { ...t, dtype: 'I32' } : t)),
        ),
        code: 'BAD_DTYPE',
        tensor: `${weight}_scale`,
      },
    ];
    for (const { d, code, tensor } of cases) {
      const before = tf.memory().numTensors;
      const err = await BertModel.fromPretrained(d).catch((e) => e);
      expect(err).toBeInstanceOf(SafetensorsError);
      expect(err.code).toBe(code);
      expect(err.tensor).toBe(tensor);
      expect(err.message).toContain(join(d, 'model.q8.safetensors'));
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
