/**
 * The one config base of BERT and ViT: Hugging Face field names and defaults, typed and bounded fields,
 * HF's `id2label`/`label2id`/`num_labels`, and a size estimate checked before any tensor exists.
 * A model package declares its fields (type, default, bounds) in a `ConfigSchema`; everything else lives here.
 */

/**
 * A config file (config.json, preprocessor_config.json) that cannot describe the model: wrong type,
 * impossible or unbounded size. `source` is the file, `field` the field at fault; both are in the message.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
  ) {
    // '(root)' and '(file)' stand for the whole file rather than one of its fields.
    super(field.startsWith('(') ? `${source}: ${detail}` : `${source}: config field "${field}" ${detail}`);
  }
}

/** A config whose model would need more bytes of weights than the limit (`maxModelBytes`). */
export class ModelTooLargeError extends ConfigError {
  override readonly name: string = 'ModelTooLargeError';
  constructor(
    source: string,
    field: string,
    detail: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(source, field, detail);
  }
}

export type ConfigErrorClass = new (source: string, field: string, detail: string) => ConfigError;

/**
 * One field's declaration. Integers and numbers need bounds on both sides: every size in a config
 * becomes an allocation, so an unbounded field is a way to exhaust memory.
 */
export type FieldSpec =
  | { type: 'int'; default: number | null; min: number; max: number; nullable?: boolean }
  | {
      type: 'number';
      default: number | null;
      /** inclusive bounds */
      min?: number;
      max?: number;
      /** exclusive bounds (layer_norm_eps > 0, dropout < 1) */
      above?: number;
      below?: number;
      nullable?: boolean;
    }
  | { type: 'boolean'; default: boolean }
  | { type: 'enum'; default: string; values: readonly string[] };

export interface Labels {
  /** Class index (a string, as JSON keys are) → name; its size is HF's `num_labels`. */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

/** More classes than this is a config mistake, not a model (and 1e9 of them would be 4 GB of names). */
export const MAX_LABELS = 1 << 20;

export interface ConfigSchema<F> {
  /** config.json `model_type`; another value is an error. */
  modelType: string;
  fields: { readonly [K in keyof F]: FieldSpec };
  /** The model package's error class (a ConfigError), so callers can catch BertConfigError or ViTConfigError. */
  error?: ConfigErrorClass;
  /** Checks between fields (hidden_size a multiple of num_attention_heads, …). */
  check?: (c: F & Labels, fail: (field: string, detail: string) => never) => void;
  /** float32 parameter count of the biggest model built from this config, and the fields it grows with. */
  parameters?: (c: F & Labels) => number;
  sizeFields?: readonly string[];
}

export interface ConfigOptions {
  /**
   * Refuse a config whose weights would take more bytes than this (float32), before anything is allocated.
   * Default: `ATTN_MAX_MODEL_BYTES` from the environment, else 4 GiB.
   */
  maxModelBytes?: number;
}

export const DEFAULT_MAX_MODEL_BYTES = 4 * 1024 ** 3;

/** The limit in force: the option, else `ATTN_MAX_MODEL_BYTES`, else 4 GiB. */
export function maxModelBytes(opts: ConfigOptions = {}): number {
  if (opts.maxModelBytes !== undefined) return opts.maxModelBytes;
  const env = typeof process !== 'undefined' ? process.env?.ATTN_MAX_MODEL_BYTES : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!(n > 0))
      throw new ConfigError(
        'ATTN_MAX_MODEL_BYTES',
        'ATTN_MAX_MODEL_BYTES',
        `must be a positive number, got "${env}"`,
      );
    return n;
  }
  return DEFAULT_MAX_MODEL_BYTES;
}

/** The fields the schema declares, their labels, and every other field of the file (kept for saving). */
export interface ParsedConfig<F> {
  fields: F & Labels;
  extra: Record<string, unknown>;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Parses config.json contents against a schema: HF defaults fill missing fields, every declared field is
 * type- and bounds-checked, labels follow HF, and the model size is checked against `maxModelBytes`.
 * Throws the schema's ConfigError naming `source` and the first field at fault.
 */
export function parseConfig<F>(
  schema: ConfigSchema<F>,
  raw: unknown,
  source: string,
  opts: ConfigOptions = {},
): ParsedConfig<F> {
  const Err = schema.error ?? ConfigError;
  const fail = (field: string, detail: string): never => {
    throw new Err(source, field, detail);
  };
  if (!isObject(raw)) return fail('(root)', `the config must be a JSON object, got ${describe(raw)}`);
  if (raw.model_type !== undefined && raw.model_type !== schema.modelType)
    fail('model_type', `is ${JSON.stringify(raw.model_type)}, expected "${schema.modelType}"`);

  const fields: Record<string, unknown> = parseFields(schema.fields, raw, source, Err);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw))
    if (
      !(k in schema.fields) &&
      k !== 'id2label' &&
      k !== 'label2id' &&
      k !== 'num_labels' &&
      k !== 'model_type'
    )
      extra[k] = v;
  Object.assign(fields, parseLabels(raw, fail));

  const c = fields as F & Labels;
  schema.check?.(c, fail);
  if (schema.parameters)
    checkModelBytes(4 * schema.parameters(c), schema.sizeFields ?? [], fields, source, opts);
  return { fields: c, extra };
}

/**
 * Only the declared fields of `raw`, defaults filled, each checked against its declaration: for files that
 * are not model configs (preprocessor_config.json) but need the same typed, bounded fields.
 */
export function parseFields(
  specs: { readonly [name: string]: FieldSpec },
  raw: Record<string, unknown>,
  source: string,
  Err: ConfigErrorClass = ConfigError,
): Record<string, unknown> {
  const fail = (field: string, detail: string): never => {
    throw new Err(source, field, detail);
  };
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = checkField(name, spec, raw[name], fail);
  return out;
}

function checkField(
  name: string,
  spec: FieldSpec,
  value: unknown,
  fail: (field: string, detail: string) => never,
): unknown {
  if (value === undefined) return spec.default;
  if (value === null && 'nullable' in spec && spec.nullable) return null;
  switch (spec.type) {
    case 'boolean':
      if (typeof value !== 'boolean') fail(name, `must be true or false, got ${describe(value)}`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value))
        fail(name, `must be one of ${spec.values.join(', ')}, got ${describe(value)}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max)
        fail(name, `must be an integer in [${spec.min}, ${spec.max}], got ${describe(value)}`);
      return value;
    case 'number': {
      // typeof first: JSON "1e-12" (a string) would pass every comparison below after coercion.
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.min === undefined || value >= spec.min) &&
        (spec.max === undefined || value <= spec.max) &&
        (spec.above === undefined || value > spec.above) &&
        (spec.below === undefined || value < spec.below);
      if (!ok) fail(name, `must be a number ${range(spec)}, got ${describe(value)}`);
      return value;
    }
  }
}

function range(s: { min?: number; max?: number; above?: number; below?: number }): string {
  const lo = s.above !== undefined ? `(${s.above}` : s.min !== undefined ? `[${s.min}` : '(-inf';
  const hi = s.below !== undefined ? `${s.below})` : s.max !== undefined ? `${s.max}]` : 'inf)';
  return `in ${lo}, ${hi}`;
}

/** How a wrong value reads in an error message (strings quoted and cut short, containers by kind). */
export function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * HF's label fields: `id2label` (keys are string ints 0..n-1) wins; else `num_labels` gives LABEL_0…;
 * else HF's default of two labels. `label2id` is checked when given, derived otherwise.
 */
function parseLabels(raw: Record<string, unknown>, fail: (field: string, detail: string) => never): Labels {
  let id2label: Record<string, string>;
  if (raw.id2label !== undefined && raw.id2label !== null) {
    if (!isObject(raw.id2label))
      return fail('id2label', `must be an object of index → name, got ${describe(raw.id2label)}`);
    const entries = Object.entries(raw.id2label);
    if (entries.length < 1) fail('id2label', 'must name at least one label');
    if (entries.length > MAX_LABELS)
      fail('id2label', `has ${entries.length} labels, more than ${MAX_LABELS}`);
    id2label = {};
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!/^\d+$/.test(k) || i >= entries.length)
        fail('id2label', `key ${JSON.stringify(k)} is not an index 0..${entries.length - 1}`);
      if (typeof v !== 'string' && typeof v !== 'number')
        fail('id2label', `value of "${k}" must be a string, got ${describe(v)}`);
      id2label[String(i)] = String(v);
    }
  } else {
    const n = raw.num_labels ?? 2;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_LABELS)
      return fail('num_labels', `must be an integer in [1, ${MAX_LABELS}], got ${describe(n)}`);
    id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
  }
  let label2id: Record<string, number>;
  if (raw.label2id !== undefined && raw.label2id !== null) {
    if (!isObject(raw.label2id))
      return fail('label2id', `must be an object of name → index, got ${describe(raw.label2id)}`);
    label2id = {};
    for (const [k, v] of Object.entries(raw.label2id)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        fail('label2id', `value of ${JSON.stringify(k)} must be a class index, got ${describe(v)}`);
      label2id[k] = v as number;
    }
  } else label2id = Object.fromEntries(Object.entries(id2label).map(([i, name]) => [name, Number(i)]));
  return { id2label, label2id };
}

/** HF's `num_labels`: the size of `id2label`. */
export function numLabels(config: { id2label: Record<string, string> }): number {
  return Object.keys(config.id2label).length;
}

/** Labels in class-index order. */
export function labelNames(config: { id2label: Record<string, string> }): string[] {
  return Array.from({ length: numLabels(config) }, (_, i) => config.id2label[String(i)]);
}

/**
 * config.json with HF `from_pretrained(dir, **overrides)` applied: a new label set (`id2label` or
 * `num_labels`) replaces the old one whole, and label2id follows it unless given.
 */
export function withConfigOverrides(
  json: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const out = { ...json };
  if (overrides.id2label !== undefined || overrides.num_labels !== undefined) delete out.label2id;
  if (overrides.num_labels !== undefined && overrides.id2label === undefined) delete out.id2label;
  return { ...out, ...overrides };
}

function checkModelBytes(
  bytes: number,
  sizeFields: readonly string[],
  c: Record<string, unknown>,
  source: string,
  opts: ConfigOptions,
) {
  const limit = maxModelBytes(opts);
  if (bytes <= limit) return;
  const sizes = [...sizeFields.map((f) => `${f}=${c[f]}`), `num_labels=${numLabels(c as unknown as Labels)}`];
  throw new ModelTooLargeError(
    source,
    sizeFields.join(', ') || 'size',
    `describe a model of ${formatBytes(bytes)} of float32 weights (${sizes.join(', ')}), over the limit of ` +
      `${formatBytes(limit)}; raise it with { maxModelBytes } or ATTN_MAX_MODEL_BYTES if this is intended`,
    bytes,
    limit,
  );
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`;
}

/** Parameters of one pre- or post-LN Transformer encoder layer (attention, FFN, two LayerNorms), with biases. */
export function encoderLayerParameters(hidden: number, intermediate: number): number {
  return 4 * (hidden * hidden + hidden) + 2 * hidden * intermediate + intermediate + hidden + 4 * hidden;
}
