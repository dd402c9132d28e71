import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConfigSchema,
  DEFAULT_MAX_MODEL_BYTES,
  encoderLayerParameters,
  labelNames,
  ModelTooLargeError,
  maxModelBytes,
  numLabels,
  parseConfig,
  withConfigOverrides,
} from './config.js';

interface Toy {
  hidden_size: number;
  num_hidden_layers: number;
  layer_norm_eps: number;
  hidden_dropout_prob: number;
  hidden_act: string;
  qkv_bias: boolean;
  classifier_dropout: number | null;
}

class ToyConfigError extends ConfigError {
  override readonly name: string = 'ToyConfigError';
}

const TOY: ConfigSchema<Toy> = {
  modelType: 'toy',
  error: ToyConfigError,
  fields: {
    hidden_size: { type: 'int', default: 8, min: 1, max: 1 << 16 },
    num_hidden_layers: { type: 'int', default: 2, min: 1, max: 1024 },
    layer_norm_eps: { type: 'number', default: 1e-12, above: 0, max: 1 },
    hidden_dropout_prob: { type: 'number', default: 0.1, min: 0, below: 1 },
    hidden_act: { type: 'enum', default: 'gelu', values: ['gelu', 'relu'] },
    qkv_bias: { type: 'boolean', default: true },
    classifier_dropout: { type: 'number', default: null, min: 0, below: 1, nullable: true },
  },
  check(c, fail) {
    if (c.hidden_size % 2) fail('hidden_size', 'must be even');
  },
  // H² per layer plus a classifier: small enough to compute by hand below.
  parameters: (c) => c.num_hidden_layers * c.hidden_size ** 2 + c.hidden_size * numLabels(c),
  sizeFields: ['hidden_size', 'num_hidden_layers'],
};

const parse = (raw: unknown, opts = {}) => parseConfig(TOY, raw, 'm/config.json', opts);

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig: the one config base', () => {
  afterEach(() => {
    delete process.env.ATTN_MAX_MODEL_BYTES;
  });

  it('fills defaults, derives two LABEL_i labels, keeps unknown fields apart', () => {
    const { fields, extra } = parse({ hidden_size: 4, my_field: [1], model_type: 'toy' });
    expect(fields).toEqual({
      hidden_size: 4,
      num_hidden_layers: 2,
      layer_norm_eps: 1e-12,
      hidden_dropout_prob: 0.1,
      hidden_act: 'gelu',
      qkv_bias: true,
      classifier_dropout: null,
      id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
      label2id: { LABEL_0: 0, LABEL_1: 1 },
    });
    expect(extra).toEqual({ my_field: [1] });
  });

  it('HF label semantics: id2label (string int keys) wins over num_labels; label2id follows or is kept', () => {
    const a = parse({ num_labels: 3 }).fields;
    expect(labelNames(a)).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
    const b = parse({ num_labels: 7, id2label: { 1: 'spam', 0: 'ham' } }).fields;
    expect(numLabels(b)).toBe(2);
    expect(labelNames(b)).toEqual(['ham', 'spam']);
    expect(b.label2id).toEqual({ ham: 0, spam: 1 });
    const c = parse({ id2label: { 0: 'a' }, label2id: { A: 0 } }).fields;
    expect(c.label2id).toEqual({ A: 0 });
  });

  it.each([
    [{ layer_norm_eps: '1e-12' }, 'layer_norm_eps', /must be a number in \(0, 1\], got the string "1e-12"/],
    [{ hidden_dropout_prob: '0.1' }, 'hidden_dropout_prob', /must be a number in \[0, 1\), got the string/],
    [{ hidden_dropout_prob: 1 }, 'hidden_dropout_prob', /in \[0, 1\), got 1$/],
    [{ layer_norm_eps: 0 }, 'layer_norm_eps', /in \(0, 1\]/],
    [{ hidden_size: 8.5 }, 'hidden_size', /must be an integer in \[1, 65536\], got 8.5/],
    [{ num_hidden_layers: 1e9 }, 'num_hidden_layers', /integer in \[1, 1024\], got 1000000000/],
    [{ qkv_bias: 'true' }, 'qkv_bias', /must be true or false/],
    [{ hidden_act: 'swish' }, 'hidden_act', /one of gelu, relu, got the string "swish"/],
    [{ id2label: 'abc' }, 'id2label', /must be an object of index → name, got the string "abc"/],
    [{ id2label: ['a', 'b'] }, 'id2label', /got an array/],
    [{ id2label: { 0: 'a', 2: 'b' } }, 'id2label', /key "2" is not an index 0\.\.1/],
    [{ id2label: { x: 'a' } }, 'id2label', /key "x"/],
    [{ id2label: {} }, 'id2label', /at least one label/],
    [{ label2id: { a: 'zero' } }, 'label2id', /class index/],
    [{ num_labels: 1e9 }, 'num_labels', /integer in \[1, 1048576\], got 1000000000/],
    [{ num_labels: '3' }, 'num_labels', /got the string "3"/],
    [{ model_type: 'bert' }, 'model_type', /is "bert", expected "toy"/],
    [{ hidden_size: 6 + 1 }, 'hidden_size', /must be even/],
  ])('%j is a typed error naming the file and the field', (raw, field, message) => {
    const t0 = performance.now();
    const err = errorOf(() => parse(raw));
    expect(performance.now() - t0).toBeLessThan(100); // 1e9 labels are refused, not built
    expect(err).toBeInstanceOf(ToyConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.source).toBe('m/config.json');
    expect(err.field).toBe(field);
    expect(err.message).toMatch(/^m\/config\.json: config field "/);
    expect(err.message).toMatch(message);
  });

  it('null is accepted only where HF allows it', () => {
    expect(parse({ classifier_dropout: null }).fields.classifier_dropout).toBeNull();
    expect(errorOf(() => parse({ hidden_size: null })).field).toBe('hidden_size');
  });

  it('a non-object is an error', () => {
    expect(errorOf(() => parse('abc')).message).toBe(
      'm/config.json: the config must be a JSON object, got the string "abc"',
    );
  });

  it('refuses a model above maxModelBytes before anything is allocated; the limit can be raised', () => {
    // 1000 layers × 4096² + 4096 × 2 labels = 16,777,224,192 parameters = 62.5 GiB of float32.
    const big = { hidden_size: 4096, num_hidden_layers: 1000 };
    const err = errorOf(() => parse(big)) as ModelTooLargeError;
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect(err.bytes).toBe(4 * (1000 * 4096 ** 2 + 4096 * 2));
    expect(err.limit).toBe(DEFAULT_MAX_MODEL_BYTES);
    expect(err.field).toBe('hidden_size, num_hidden_layers');
    expect(err.message).toMatch(
      /62\.5 GiB .*hidden_size=4096, num_hidden_layers=1000, num_labels=2.*4\.0 GiB/,
    );
    expect(parse(big, { maxModelBytes: 70 * 1024 ** 3 }).fields.num_hidden_layers).toBe(1000);
    // 2 layers × 64² + 64 × 2 = 8,320 parameters = 33,280 bytes: exactly at the limit passes, one byte less fails.
    expect(parse({ hidden_size: 64 }, { maxModelBytes: 33_280 }).fields.hidden_size).toBe(64);
    expect(() => parse({ hidden_size: 64 }, { maxModelBytes: 33_279 })).toThrow(ModelTooLargeError);
  });

  it('ATTN_MAX_MODEL_BYTES sets the default limit; a bad value is a typed error', () => {
    expect(maxModelBytes()).toBe(4 * 1024 ** 3);
    process.env.ATTN_MAX_MODEL_BYTES = '1000';
    expect(maxModelBytes()).toBe(1000);
    expect(parse({}).fields.hidden_size).toBe(8); // 2 × 8² + 8 × 2 = 144 parameters = 576 bytes
    expect(() => parse({ hidden_size: 16 })).toThrow(ModelTooLargeError); // 2 × 16² + 32 = 544 → 2,176 bytes
    expect(maxModelBytes({ maxModelBytes: 5 })).toBe(5);
    process.env.ATTN_MAX_MODEL_BYTES = 'lots';
    expect(() => maxModelBytes()).toThrow(/ATTN_MAX_MODEL_BYTES.*"lots"/);
  });

  it('withConfigOverrides: a new label set replaces the old one whole', () => {
    const json = { hidden_size: 4, id2label: { 0: 'a', 1: 'b' }, label2id: { a: 0, b: 1 } };
    expect(withConfigOverrides(json, { num_labels: 3 })).toEqual({ hidden_size: 4, num_labels: 3 });
    expect(withConfigOverrides(json, { id2label: { 0: 'x' } })).toEqual({
      hidden_size: 4,
      id2label: { 0: 'x' },
    });
    expect(withConfigOverrides(json, { hidden_size: 8 })).toEqual({ ...json, hidden_size: 8 });
    expect(json.label2id).toEqual({ a: 0, b: 1 }); // the input is not mutated
  });

  it('encoderLayerParameters counts a BERT layer as HF does', () => {
    // bert-base: 7,087,872 parameters per layer (85,054,464 / 12).
    expect(encoderLayerParameters(768, 3072)).toBe(7_087_872);
  });
});
