import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, initBackend, StateDictError, tf } from '@attn/core-tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertConfigError, BertForSequenceClassification, BertInputError, BertModel } from '../src/index.js';
import { GOLD_DIR, haveFixtures } from './helpers.js';

describe.skipIf(!haveFixtures('bert errors'))('bad input gives typed errors that name the problem', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'attn-bert-err-'));
  let model: BertModel;
  beforeAll(async () => {
    await initBackend('cpu');
    model = await BertModel.fromPretrained(GOLD_DIR());
  });
  afterAll(() => {
    model?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The fixture weights beside a config.json with some fields changed. */
  function folderWith(fields: Record<string, unknown>, name: string) {
    const dir = join(tmp, name);
    mkdirSync(dir);
    const config = JSON.parse(readFileSync(join(GOLD_DIR(), 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...fields }));
    copyFileSync(join(GOLD_DIR(), 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  }

  it('config sizes that disagree with the weights: names the tensor and both shapes', async () => {
    const dir = folderWith({ intermediate_size: 48 }, 'wrong-size');
    const before = tf.memory().numTensors;
    const err = await BertForSequenceClassification.fromPretrained(dir).catch((e) => e);
    expect(err).toBeInstanceOf(StateDictError);
    expect(err.message).toContain('bert.encoder.layer.0.intermediate.dense.weight');
    expect(err.message).toContain('model expects [48,32], checkpoint has [64,32]');
    expect(err.message).toContain(dir);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a config with more layers than the checkpoint holds names the missing tensors instead of using random layers', async () => {
    const dir = folderWith({ num_hidden_layers: 3 }, 'three-layers');
    const before = tf.memory().numTensors;
    for (const [load, prefix] of [
      [(d: string) => BertModel.fromPretrained(d), ''],
      [(d: string) => BertForSequenceClassification.fromPretrained(d), 'bert.'],
    ] as const) {
      const err = await load(dir).catch((e) => e);
      expect(err).toBeInstanceOf(StateDictError);
      expect(err.missing).toContain(`${prefix}encoder.layer.2.attention.self.query.weight`);
      expect(err.missing.every((n: string) => n.startsWith(`${prefix}encoder.layer.2.`))).toBe(true);
      expect(err.missing).toHaveLength(16); // q, k, v, out, 2 LayerNorms, FFN in and out: weight + bias each
      expect(err.message).toContain(dir);
      expect(err.message).toMatch(
        /more layers \(num_hidden_layers\) than the checkpoint holds \(2\): layer\(s\) 2 would be random/,
      );
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('num_hidden_layers: 1e9 or num_labels: 1e9 is refused from config.json before any weight is read', async () => {
    for (const [fields, name] of [
      [{ num_hidden_layers: 1e9 }, 'num_hidden_layers'],
      [{ num_labels: 1e9, id2label: undefined, label2id: undefined }, 'num_labels'],
      [{ vocab_size: 1 << 24, hidden_size: 4096, num_attention_heads: 64 }, 'vocab_size'],
    ] as const) {
      const dir = folderWith(fields, `huge-${name}`);
      const t0 = performance.now();
      const err = await BertForSequenceClassification.fromPretrained(dir).catch((e) => e);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.source).toBe(`${dir}/config.json`);
      expect(err.field).toContain(name);
    }
  });

  it('an impossible config names the field', async () => {
    const dir = folderWith({ num_attention_heads: 5 }, 'bad-heads');
    await expect(BertModel.fromPretrained(dir)).rejects.toThrow(BertConfigError);
    await expect(BertModel.fromPretrained(dir)).rejects.toThrow(/num_attention_heads/);
  });

  it.each([
    [{ inputIds: [[101, 30522, 102]] }, /inputIds: value 30522 at \[0, 1\] is outside \[0, 30522\)/],
    [{ inputIds: [[101, -1, 102]] }, /inputIds: value -1/],
    [{ inputIds: [Array(129).fill(1996)] }, /sequence length 129 exceeds max_position_embeddings \(128\)/],
    [{ inputIds: [] }, /empty batch/],
    [{ inputIds: [[]] }, /empty sequences/],
    [{ inputIds: [[101, 102], [101]] }, /row 1 has length 1/],
    [{ inputIds: [[101, 102]], tokenTypeIds: [[0, 2]] }, /tokenTypeIds: value 2.*type_vocab_size/],
    [{ inputIds: [[101, 102]], attentionMask: [[1, 1, 1]] }, /attentionMask: shape \[1,3\] differs/],
  ])('forward rejects %j', (inputs, message) => {
    const before = tf.memory().numTensors;
    expect(() => model.forward(inputs as never)).toThrow(BertInputError);
    expect(() => model.forward(inputs as never)).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accepts int32 tensors and rejects fractional ones', () => {
    const ids = tf.tensor2d([[101, 1996, 102]], undefined, 'int32');
    const out = model.forward({ inputIds: ids });
    expect(out.lastHiddenState.shape).toEqual([1, 3, 32]);
    tf.dispose([ids, out.lastHiddenState, out.poolerOutput!]);
    const frac = tf.tensor2d([[101.5, 102]]);
    expect(() => model.forward({ inputIds: frac })).toThrow(/fractions/);
    frac.dispose();
  });
});
