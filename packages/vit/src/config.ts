/** Thrown for a config.json that cannot describe a ViT; the message names the file and field. */
export class ViTConfigError extends Error {
  override readonly name = 'ViTConfigError';
}

/** The fields of Hugging Face's `ViTConfig` that the model reads (HF names, plain data). */
export interface ViTConfigFields {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu' | 'relu' | 'gelu_new';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  initializer_range: number;
  layer_norm_eps: number;
  image_size: number;
  patch_size: number;
  num_channels: number;
  qkv_bias: boolean;
  encoder_stride: number;
  /** Class index (as a string, like JSON keys) → name. */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

const DEFAULTS: ViTConfigFields = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  image_size: 224,
  patch_size: 16,
  num_channels: 3,
  qkv_bias: true,
  encoder_stride: 16,
  id2label: { '0': 'LABEL_0', '1': 'LABEL_1' },
  label2id: { LABEL_0: 0, LABEL_1: 1 },
};

const POSITIVE_INTS = [
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'image_size',
  'patch_size',
  'num_channels',
] as const;

/**
 * Hugging Face `ViTConfig` as plain data: `from(json)` fills HF's defaults and validates; every field it
 * does not know (generation defaults, `architectures`, …) is kept and written back by `toJSON`.
 */
export class ViTConfig {
  readonly fields: ViTConfigFields;
  /** Everything else found in config.json, preserved verbatim. */
  readonly extra: Record<string, unknown>;

  private constructor(fields: ViTConfigFields, extra: Record<string, unknown>) {
    this.fields = fields;
    this.extra = extra;
  }

  static from(json: Partial<ViTConfigFields> & Record<string, unknown> = {}, source = 'config'): ViTConfig {
    const extra: Record<string, unknown> = {};
    const fields: Record<string, unknown> = { ...DEFAULTS };
    for (const [k, v] of Object.entries(json)) {
      if (k in DEFAULTS) fields[k] = v;
      else if (k !== 'num_labels') extra[k] = v;
    }
    const f = fields as unknown as ViTConfigFields;
    for (const k of POSITIVE_INTS)
      if (!Number.isInteger(f[k]) || f[k] < 1)
        throw new ViTConfigError(`${source}: ${k} must be a positive integer, got ${JSON.stringify(f[k])}`);
    if (f.hidden_size % f.num_attention_heads !== 0)
      throw new ViTConfigError(
        `${source}: hidden_size ${f.hidden_size} is not a multiple of num_attention_heads ${f.num_attention_heads}`,
      );
    if (!['gelu', 'relu', 'gelu_new'].includes(f.hidden_act))
      throw new ViTConfigError(
        `${source}: hidden_act "${f.hidden_act}" is not supported (gelu, relu, gelu_new)`,
      );
    // Labels: id2label wins; a bare num_labels gives LABEL_i names, as HF does.
    if (!json.id2label && typeof json.num_labels === 'number')
      f.id2label = Object.fromEntries(
        Array.from({ length: json.num_labels }, (_, i) => [String(i), `LABEL_${i}`]),
      );
    f.id2label = normaliseId2label(f.id2label, source);
    if (!json.label2id || json.id2label)
      f.label2id = Object.fromEntries(Object.entries(f.id2label).map(([i, n]) => [n, Number(i)]));
    return new ViTConfig(f, extra);
  }

  static async fromFile(path: string): Promise<ViTConfig> {
    const { readFile } = await import('node:fs/promises');
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new ViTConfigError(`${path}: ${(e as Error).message}`);
    }
    if (json.model_type !== undefined && json.model_type !== 'vit')
      throw new ViTConfigError(`${path}: model_type is "${json.model_type}", expected "vit"`);
    return ViTConfig.from(json as Partial<ViTConfigFields>, path);
  }

  get numLabels(): number {
    return Object.keys(this.fields.id2label).length;
  }

  /** Labels in class-index order. */
  get labels(): string[] {
    return Array.from({ length: this.numLabels }, (_, i) => this.fields.id2label[String(i)]);
  }

  /** A copy with some fields replaced (e.g. a new label set for fine-tuning). */
  with(changes: Partial<ViTConfigFields> & Record<string, unknown>): ViTConfig {
    const json = { ...this.toJSON(), ...changes };
    if (changes.id2label && !changes.label2id) delete json.label2id;
    return ViTConfig.from(json, 'config');
  }

  /** config.json contents: HF fields plus every unknown field that was read. */
  toJSON(): Record<string, unknown> {
    return { ...this.extra, ...this.fields, model_type: 'vit' };
  }
}

function normaliseId2label(id2label: Record<string, unknown>, source: string): Record<string, string> {
  const entries = Object.entries(id2label ?? {});
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length)
      throw new ViTConfigError(`${source}: id2label key "${k}" is not an index 0..${entries.length - 1}`);
    out[String(i)] = String(v);
  }
  return out;
}
