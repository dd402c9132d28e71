import { readFileSync } from 'node:fs';
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
  ])('rejects %j', (fields, message) => {
    expect(() => parseBertConfig(fields, 'x/config.json')).toThrow(BertConfigError);
    expect(() => parseBertConfig(fields, 'x/config.json')).toThrow(message);
  });

  it.skipIf(!haveFixtures('bert config'))('round-trips the fixture config.json field for field', () => {
    const path = fixturePath('bert-tiny-random', 'config.json');
    const original = JSON.parse(readFileSync(path, 'utf8'));
    const written = JSON.parse(bertConfigToJSON(readBertConfig(path)));
    expect(written).toEqual(original);
  });
});
