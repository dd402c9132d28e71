import {
  ConfigError,
  type ConfigOptions,
  type ConfigSchema,
  encoderLayerParameters,
  labelNames,
  numLabels,
  parseConfig,
  withConfigOverrides,
} from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';

/** Thrown for a config.json that cannot describe a ViT; the message names the file and field. */
export class ViTConfigError extends ConfigError {
  override readonly name: string = 'ViTConfigError';
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

/** ViTConfig's own fields: HF's defaults (`ViTConfig.__init__`) and the bounds past which a config is a mistake. */
const VIT_SCHEMA: ConfigSchema<Omit<ViTConfigFields, 'id2label' | 'label2id'>> = {
  modelType: 'vit',
  error: ViTConfigError,
  fields: {
    hidden_size: { type: 'int', default: 768, min: 1, max: 1 << 16 },
    num_hidden_layers: { type: 'int', default: 12, min: 1, max: 1024 },
    num_attention_heads: { type: 'int', default: 12, min: 1, max: 1024 },
    intermediate_size: { type: 'int', default: 3072, min: 1, max: 1 << 18 },
    hidden_act: { type: 'enum', default: 'gelu', values: ['gelu', 'relu', 'gelu_new'] },
    hidden_dropout_prob: { type: 'number', default: 0, min: 0, below: 1 },
    attention_probs_dropout_prob: { type: 'number', default: 0, min: 0, below: 1 },
    initializer_range: { type: 'number', default: 0.02, min: 0, max: 1e3 },
    layer_norm_eps: { type: 'number', default: 1e-12, above: 0, max: 1 },
    image_size: { type: 'int', default: 224, min: 1, max: 1 << 14 },
    patch_size: { type: 'int', default: 16, min: 1, max: 1 << 14 },
    num_channels: { type: 'int', default: 3, min: 1, max: 1024 },
    qkv_bias: { type: 'boolean', default: true },
    encoder_stride: { type: 'int', default: 16, min: 1, max: 1 << 14 },
  },
  check(c, fail) {
    if (c.hidden_size % c.num_attention_heads !== 0)
      fail(
        'hidden_size',
        `(${c.hidden_size}) must be a multiple of "num_attention_heads" (${c.num_attention_heads})`,
      );
    if (c.patch_size > c.image_size)
      fail('patch_size', `(${c.patch_size}) must not exceed "image_size" (${c.image_size})`);
  },
  parameters(c) {
    const H = c.hidden_size;
    const patches = Math.floor(c.image_size / c.patch_size) ** 2;
    const embeddings = c.num_channels * c.patch_size ** 2 * H + H + H + (patches + 1) * H;
    const encoder = c.num_hidden_layers * encoderLayerParameters(H, c.intermediate_size);
    // final LayerNorm, pooler, classifier
    return embeddings + encoder + 2 * H + H * H + H + (H + 1) * numLabels(c);
  },
  sizeFields: [
    'hidden_size',
    'num_hidden_layers',
    'intermediate_size',
    'image_size',
    'patch_size',
    'num_channels',
  ],
};

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

  /**
   * Throws ViTConfigError naming `source` and the field for a wrong type or an out-of-bounds size, and
   * ModelTooLargeError (a ConfigError) when the model would exceed `maxModelBytes`.
   */
  static from(
    json: Partial<ViTConfigFields> & Record<string, unknown> = {},
    source = 'config',
    opts: ConfigOptions = {},
  ): ViTConfig {
    const { fields, extra } = parseConfig(VIT_SCHEMA, json, source, opts);
    return new ViTConfig(fields, extra);
  }

  static async fromFile(path: string, opts: ConfigOptions = {}): Promise<ViTConfig> {
    const { readFile } = node.fsp;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new ViTConfigError(path, '(file)', `cannot be read (${(e as Error).message})`);
    }
    return ViTConfig.from(json as Partial<ViTConfigFields>, path, opts);
  }

  get numLabels(): number {
    return numLabels(this.fields);
  }

  /** Labels in class-index order. */
  get labels(): string[] {
    return labelNames(this.fields);
  }

  /** A copy with some fields replaced (e.g. a new label set for fine-tuning). */
  with(changes: Partial<ViTConfigFields> & Record<string, unknown>): ViTConfig {
    return ViTConfig.from(withConfigOverrides(this.toJSON(), changes), 'config');
  }

  /** config.json contents: HF fields plus every unknown field that was read. */
  toJSON(): Record<string, unknown> {
    return { ...this.extra, ...this.fields, model_type: 'vit' };
  }
}
