import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, initBackend, ModelTooLargeError, StateDictError, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ViTConfig, ViTConfigError } from './config.js';
import { ViTForImageClassification, ViTModel } from './model.js';

describe('ViTConfig on the shared config base', () => {
  it('HF defaults (ViT-B/16) and HF label semantics', () => {
    const c = ViTConfig.from({ num_labels: 3 });
    expect(c.fields.hidden_size).toBe(768);
    expect(c.fields.patch_size).toBe(16);
    expect(c.fields.layer_norm_eps).toBe(1e-12);
    expect(c.labels).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
    expect(c.fields.label2id).toEqual({ LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
    const d = c.with({ id2label: { 0: 'cat', 1: 'dog' } });
    expect(d.numLabels).toBe(2);
    expect(d.fields.label2id).toEqual({ cat: 0, dog: 1 });
    expect(d.toJSON().model_type).toBe('vit');
  });

  it.each([
    [{ layer_norm_eps: '1e-12' }, 'layer_norm_eps', /must be a number in \(0, 1\], got the string "1e-12"/],
    [{ hidden_dropout_prob: '0.0' }, 'hidden_dropout_prob', /must be a number in \[0, 1\)/],
    [{ id2label: 'abc' }, 'id2label', /must be an object of index → name, got the string "abc"/],
    [{ num_labels: 1e9 }, 'num_labels', /integer in \[1, 1048576\], got 1000000000/],
    [{ num_hidden_layers: 1e9 }, 'num_hidden_layers', /integer in \[1, 1024\]/],
    [{ image_size: 1e6 }, 'image_size', /integer in \[1, 16384\], got 1000000/],
    [{ image_size: 16, patch_size: 32 }, 'patch_size', /must not exceed "image_size"/],
    [{ qkv_bias: 1 }, 'qkv_bias', /true or false/],
    [{ hidden_size: 30, num_attention_heads: 4 }, 'hidden_size', /multiple of "num_attention_heads"/],
    [{ model_type: 'bert' }, 'model_type', /is "bert", expected "vit"/],
  ])('%j → ViTConfigError naming the file and the field', (json, field, message) => {
    let err: ConfigError | undefined;
    try {
      ViTConfig.from(json as never, 'v/config.json');
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ViTConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ source: 'v/config.json', field });
    expect(err?.message).toMatch(/^v\/config\.json: config field "/);
    expect(err?.message).toMatch(message);
  });

  it('estimates the weights before allocating; maxModelBytes raises the limit', () => {
    // ViTModel vit-base-patch16-224 has 86,389,248 parameters (HF's count, pooler included);
    // the estimate adds the 2-label classifier: 769 × 2 = 1,538.
    const bytes = 4 * (86_389_248 + 1_538);
    expect(ViTConfig.from({}, 'c', { maxModelBytes: bytes }).fields.num_hidden_layers).toBe(12);
    expect(() => ViTConfig.from({}, 'c', { maxModelBytes: bytes - 1 })).toThrow(ModelTooLargeError);
    // 16384² pixels in patches of 1: 268 M positions × 768 = 768 GiB of position embeddings.
    const huge = { image_size: 16384, patch_size: 1 };
    expect(() => ViTConfig.from(huge, 'c')).toThrow(
      /config field "hidden_size, .*image_size, patch_size.*GiB/,
    );
  });
});

describe.skipIf(!haveFixtures('ViT lifecycle'))('ViT fromPretrained through the shared lifecycle', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'attn-vit-cfg-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function folderWith(fields: Record<string, unknown>, name: string) {
    const dir = join(tmp, name);
    const src = fixturePath('vit-tiny-random');
    const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...fields }));
    copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  }

  it('more layers than the checkpoint holds is a StateDictError naming the missing tensors', async () => {
    await initBackend('cpu');
    const dir = folderWith({ num_hidden_layers: 3 }, 'three');
    const before = tf.memory().numTensors;
    for (const [Model, prefix] of [
      [ViTForImageClassification, 'vit.'],
      [ViTModel, ''],
    ] as const) {
      const err = await Model.fromPretrained(dir).catch((e) => e);
      expect(err).toBeInstanceOf(StateDictError);
      expect(err.missing).toContain(`${prefix}encoder.layer.2.attention.attention.query.weight`);
      expect(err.missing.every((n: string) => n.startsWith(`${prefix}encoder.layer.2.`))).toBe(true);
      expect(err.message).toContain(dir);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a huge config is refused before the weights are read', async () => {
    const dir = folderWith({ num_labels: 1e9, id2label: undefined, label2id: undefined }, 'labels');
    const err = await ViTForImageClassification.fromPretrained(dir).catch((e) => e);
    expect(err).toBeInstanceOf(ViTConfigError);
    expect(err).toMatchObject({ source: `${dir}/config.json`, field: 'num_labels' });
  });

  it('reports what it found missing and unexpected, as BERT does', async () => {
    const full = await ViTForImageClassification.fromPretrained(fixturePath('vit-tiny-random'));
    expect(full.loadingInfo).toEqual({ missing: [], unexpected: [] });
    const base = await ViTModel.fromPretrained(fixturePath('vit-tiny-random'));
    expect(base.loadingInfo?.missing).toEqual([]);
    expect(base.loadingInfo?.unexpected.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    full.dispose();
    base.dispose();
  });

  it('config overrides (HF from_pretrained(dir, id2label=…)) apply before the weights are loaded', async () => {
    const m = await ViTForImageClassification.fromPretrained(fixturePath('vit-tiny-random'), {
      config: { id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd', 4: 'e', 5: 'f', 6: 'g' } },
    }).catch((e) => e);
    // The fixture's classifier has fewer rows: a 7-way head cannot take its weights.
    expect(m).toBeInstanceOf(StateDictError);
    expect(m.message).toMatch(/classifier\.weight: model expects \[7,\d+\]/);
  });

  it("save with maxShardBytes writes HF's sharded layout; it loads back bit for bit, and a later single-file save replaces it", async () => {
    const { readdirSync } = await import('node:fs');
    const model = await ViTForImageClassification.fromPretrained(fixturePath('vit-tiny-random'));
    const dir = join(tmp, 'sharded');
    const state = model.stateDict();
    const total = [...state.values()].reduce((a, t) => a + 4 * t.size, 0);
    await model.save(dir, undefined, { maxShardBytes: Math.ceil(total / 3) });
    const files = readdirSync(dir).sort();
    expect(files).not.toContain('model.safetensors');
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThanOrEqual(3);
    expect(shards[0]).toBe(`model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(total);
    expect(Object.keys(index.weight_map).sort()).toEqual([...state.keys()].sort());
    const again = await ViTForImageClassification.fromPretrained(dir);
    expect(again.loadingInfo).toEqual({ missing: [], unexpected: [] });
    const back = again.stateDict();
    for (const [k, t] of state)
      expect(Array.from(back.get(k)!.dataSync()), k).toEqual(Array.from(t.dataSync()));
    await model.save(dir);
    expect(readdirSync(dir)).toContain('model.safetensors');
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']); // old shards removed
    tf.dispose([...state.values(), ...back.values()]);
    model.dispose();
    again.dispose();
  });
});
