import { readFileSync } from 'node:fs';
import { ConfigError, ModelTooLargeError } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import {
  BertConfigError,
  bertConfig,
  bertConfigToJSON,
  numLabels,
  parseBertConfig,
  readBertConfig,
} from './config.js';

describe('BertConfig', () => {
  it('fills HF defaults (bert-base sizes) and derives labels from num_labels', () => {
    const c = bertConfig({ num_labels: 3 });
    expect(c.hidden_size).toBe(768);
    expect(c.num_hidden_layers).toBe(12);
    expect(c.layer_norm_eps).toBe(1e-12);
    expect(c.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    expect(c.label2id).toEqual({ LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
    expect(numLabels(c)).toBe(3);
  });

  it('keeps unknown fields', () => {
    const c = parseBertConfig({ hidden_size: 32, num_attention_heads: 4, my_field: [1, 2] });
    expect(c.my_field).toEqual([1, 2]);
    expect(JSON.parse(bertConfigToJSON(c)).my_field).toEqual([1, 2]);
  });

  it.each([
    [{ hidden_size: 30, num_attention_heads: 4 }, /hidden_size.*multiple of "num_attention_heads"/],
    [{ vocab_size: 0 }, /"vocab_size" must be an integer in \[1, 16777216\], got 0/],
    [{ hidden_act: 'swish' }, /"hidden_act"/],
    [{ position_embedding_type: 'relative_key' }, /"position_embedding_type"/],
    [{ model_type: 'vit' }, /"model_type" is "vit"/],
    [{ layer_norm_eps: '1e-12' }, /"layer_norm_eps" must be a number in \(0, 1\], got the string "1e-12"/],
    [{ hidden_dropout_prob: '0.1' }, /"hidden_dropout_prob" must be a number in \[0, 1\), got the string/],
    [{ id2label: 'abc' }, /"id2label" must be an object of index → name, got the string "abc"/],
    [{ num_hidden_layers: 1e9 }, /"num_hidden_layers" must be an integer in \[1, 1024\], got 1000000000/],
    [{ num_labels: 1e9 }, /"num_labels" must be an integer in \[1, 1048576\], got 1000000000/],
    [{ use_cache: 'yes' }, /"use_cache" must be true or false/],
    [{ classifier_dropout: '0.1' }, /"classifier_dropout"/],
  ])('rejects %j', (fields, message) => {
    expect(() => parseBertConfig(fields, 'x/config.json')).toThrow(BertConfigError);
    expect(() => parseBertConfig(fields, 'x/config.json')).toThrow(message);
    expect(() => parseBertConfig(fields, 'x/config.json')).toThrow(/^x\/config\.json: config field "/);
  });

  it("BertConfigError is core-tensor's ConfigError, with the file and the field", () => {
    let err: unknown;
    try {
      parseBertConfig({ layer_norm_eps: 'tiny' }, 'm/config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BertConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ name: 'BertConfigError', source: 'm/config.json', field: 'layer_norm_eps' });
  });

  it('estimates the weights from the config and refuses above maxModelBytes (default 4 GiB)', () => {
    // bert-base: 109,482,240 parameters in BertModel (HF's count); the estimate adds the biggest head,
    // the MLM transform and vocabulary bias: 768² + 3·768 + 30522 = 622,650 → 110,104,890 × 4 bytes.
    const base = bertConfig({}, { maxModelBytes: 4 * 110_104_890 });
    expect(base.num_hidden_layers).toBe(12);
    expect(() => bertConfig({}, { maxModelBytes: 4 * 110_104_890 - 1 })).toThrow(ModelTooLargeError);
    // 1024 layers of bert-large width: 1024 × 12,596,224 parameters ≈ 48 GiB.
    const huge = {
      hidden_size: 1024,
      intermediate_size: 4096,
      num_hidden_layers: 1024,
      num_attention_heads: 16,
    };
    expect(() => bertConfig(huge)).toThrow(ModelTooLargeError);
    expect(() => bertConfig(huge)).toThrow(
      /config: config field "vocab_size, hidden_size, num_hidden_layers.*48\.\d GiB/,
    );
    expect(bertConfig(huge, { maxModelBytes: 64 * 1024 ** 3 }).num_hidden_layers).toBe(1024);
  });

  it.skipIf(!haveFixtures('bert config'))('round-trips the fixture config.json field for field', () => {
    const path = fixturePath('bert-tiny-random', 'config.json');
    const original = JSON.parse(readFileSync(path, 'utf8'));
    const written = JSON.parse(bertConfigToJSON(readBertConfig(path)));
    expect(written).toEqual(original);
  });
});
