import { TransformerEncoder } from '@attn/attention';
import {
  atomicWriteFile,
  type HubOptions,
  LayerNorm,
  Linear,
  loadPretrained,
  Module,
  tf,
  withDeferredInit,
  writeSafetensors,
} from '@attn/core-tensor';
import { ViTConfig, ViTConfigError } from './config.js';
import { ViTEmbeddings } from './embeddings.js';

export interface ViTForwardOptions {
  /** Return every layer's attention probabilities [b, heads, t, t]. */
  outputAttentions?: boolean;
  /** Return the embeddings output and every layer's output (before the final LayerNorm). */
  outputHiddenStates?: boolean;
  /** Accept images of another size than `image_size`, resizing the position grid (HF's bicubic). */
  interpolatePosEncoding?: boolean;
}

export interface ViTModelOutput {
  /** [b, 1 + patches, hidden], after the final LayerNorm. */
  lastHiddenState: tf.Tensor3D;
  /** [b, hidden]: tanh(dense(CLS)), when the model has a pooler. */
  poolerOutput?: tf.Tensor2D;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
}

export interface ViTClassifierOutput {
  /** [b, numLabels] */
  logits: tf.Tensor2D;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
}

/** HF `ViTPooler`: tanh(dense(hidden[:, 0])). */
class ViTPooler extends Module {
  readonly dense: Linear;
  constructor(hidden: number, std: number) {
    super();
    this.dense = this.module('dense', new Linear(hidden, hidden, { std }));
  }
  forward(hidden: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => tf.tanh(this.dense.forward(cls(hidden))) as tf.Tensor2D);
  }
}

/** The [CLS] row of [b, t, H] → [b, H]. */
function cls(hidden: tf.Tensor3D): tf.Tensor2D {
  const [b, , H] = hidden.shape;
  return tf.reshape(tf.slice(hidden, [0, 0, 0], [b, 1, H]), [b, H]);
}

/**
 * Hugging Face `ViTModel`: patch embedding + [CLS] + positions → pre-LN Transformer encoder → LayerNorm
 * (→ optional pooler). State-dict names `embeddings.*`, `encoder.layer.N.*`, `layernorm.*`, `pooler.dense.*`.
 */
export class ViTModel extends Module {
  readonly config: ViTConfig;
  readonly embeddings: ViTEmbeddings;
  readonly encoder: TransformerEncoder;
  readonly layernorm: LayerNorm;
  readonly pooler?: ViTPooler;

  constructor(config: ViTConfig, opts: { addPoolingLayer?: boolean } = {}) {
    super();
    this.config = config;
    const f = config.fields;
    this.embeddings = this.module('embeddings', new ViTEmbeddings(f));
    this.encoder = this.module(
      'encoder',
      new TransformerEncoder(
        {
          hiddenSize: f.hidden_size,
          numHeads: f.num_attention_heads,
          intermediateSize: f.intermediate_size,
          hiddenAct: f.hidden_act,
          layerNormEps: f.layer_norm_eps,
          hiddenDropout: f.hidden_dropout_prob,
          attentionDropout: f.attention_probs_dropout_prob,
          qkvBias: f.qkv_bias,
          std: f.initializer_range,
          norm: 'pre',
          naming: 'vit',
        },
        f.num_hidden_layers,
      ),
    );
    this.layernorm = this.module('layernorm', new LayerNorm(f.hidden_size, f.layer_norm_eps));
    if (opts.addPoolingLayer ?? true)
      this.pooler = this.module('pooler', new ViTPooler(f.hidden_size, f.initializer_range));
  }

  /** pixelValues [b, C, H, W] (from ViTImageProcessor). Every returned tensor belongs to the caller. */
  forward(pixelValues: tf.Tensor, opts: ViTForwardOptions = {}): ViTModelOutput {
    return tf.tidy(() => {
      const tokens = this.embeddings.forward(pixelValues, opts);
      const enc = this.encoder.forward(tokens, opts);
      const lastHiddenState = this.layernorm.forward(enc.lastHidden) as tf.Tensor3D;
      return {
        lastHiddenState,
        ...(this.pooler ? { poolerOutput: this.pooler.forward(lastHiddenState) } : {}),
        ...(enc.hiddenStates ? { hiddenStates: enc.hiddenStates } : {}),
        ...(enc.attentions ? { attentions: enc.attentions } : {}),
      };
    });
  }

  static async fromPretrained(
    dirOrId: string,
    opts: HubOptions & { addPoolingLayer?: boolean } = {},
  ): Promise<ViTModel> {
    const { config, tensors } = await readCheckpoint(dirOrId, opts);
    // A classification checkpoint nests the backbone under `vit.`: take it from there.
    const prefixed = [...tensors.keys()].some((k) => k.startsWith('vit.'));
    const own = prefixed ? stripPrefix(tensors, 'vit.') : tensors;
    const model = withDeferredInit(
      () => new ViTModel(config, { addPoolingLayer: opts.addPoolingLayer ?? own.has('pooler.dense.weight') }),
    );
    try {
      model.loadStateDict(own, { strict: !prefixed, release: true });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    return model.eval();
  }

  async save(dir: string, metadata?: Record<string, string>): Promise<void> {
    await saveCheckpoint(this, this.config, dir, metadata);
  }
}

/** Hugging Face `ViTForImageClassification`: `vit.*` (no pooler) and `classifier` on the final-LayerNorm [CLS]. */
export class ViTForImageClassification extends Module {
  readonly config: ViTConfig;
  readonly vit: ViTModel;
  readonly classifier: Linear;

  constructor(config: ViTConfig) {
    super();
    this.config = config;
    this.vit = this.module('vit', new ViTModel(config, { addPoolingLayer: false }));
    this.classifier = this.module(
      'classifier',
      new Linear(config.fields.hidden_size, config.numLabels, { std: config.fields.initializer_range }),
    );
  }

  forward(pixelValues: tf.Tensor, opts: ViTForwardOptions = {}): ViTClassifierOutput {
    return tf.tidy(() => {
      const out = this.vit.forward(pixelValues, opts);
      const logits = this.classifier.forward(cls(out.lastHiddenState)) as tf.Tensor2D;
      return {
        logits,
        ...(out.hiddenStates ? { hiddenStates: out.hiddenStates } : {}),
        ...(out.attentions ? { attentions: out.attentions } : {}),
      };
    });
  }

  /**
   * Loads an HF ViT folder or hub id (config.json + model.safetensors). A bare ViTModel checkpoint loads too; its
   * classifier then keeps its random initialisation (reported in `missing`), as HF does.
   */
  static async fromPretrained(dirOrId: string, opts: HubOptions = {}): Promise<ViTForImageClassification> {
    const { config, tensors } = await readCheckpoint(dirOrId, opts);
    const model = withDeferredInit(() => new ViTForImageClassification(config));
    const bare = ![...tensors.keys()].some((k) => k.startsWith('vit.'));
    const named = bare ? addPrefix(tensors, 'vit.') : tensors;
    try {
      if (bare) {
        // pooler weights of a ViTModel checkpoint are not used by the classifier, as in HF.
        for (const k of [...named.keys()]) if (k.startsWith('vit.pooler.')) named.delete(k);
        model.loadStateDict(named, { strict: false, release: true });
      } else model.loadStateDict(named, { release: true });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    return model.eval();
  }

  async save(dir: string, metadata?: Record<string, string>): Promise<void> {
    await saveCheckpoint(this, this.config, dir, metadata, ['ViTForImageClassification']);
  }
}

/** config.json + weights of a local folder or a hub id (downloaded into the cache by core-tensor). */
async function readCheckpoint(
  dirOrId: string,
  opts: HubOptions = {},
): Promise<{ config: ViTConfig; tensors: Map<string, tf.Tensor> }> {
  const { dir, config: json, tensors } = await loadPretrained(dirOrId, opts);
  const source = `${dir}/config.json`;
  try {
    if (json.model_type !== undefined && json.model_type !== 'vit')
      throw new ViTConfigError(`${source}: model_type is "${json.model_type}", expected "vit"`);
    return { config: ViTConfig.from(json, source), tensors };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}

async function saveCheckpoint(
  model: Module,
  config: ViTConfig,
  dir: string,
  metadata: Record<string, string> | undefined,
  architectures?: string[],
) {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const state = model.stateDict();
  try {
    await writeSafetensors(join(dir, 'model.safetensors'), state, { format: 'pt', ...metadata });
  } finally {
    for (const t of state.values()) t.dispose();
  }
  const json = { ...config.toJSON(), ...(architectures ? { architectures } : {}) };
  await atomicWriteFile(join(dir, 'config.json'), `${JSON.stringify(json, null, 2)}\n`);
}

function stripPrefix(m: Map<string, tf.Tensor>, prefix: string): Map<string, tf.Tensor> {
  return new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

function addPrefix(m: Map<string, tf.Tensor>, prefix: string): Map<string, tf.Tensor> {
  return new Map([...m].map(([k, v]) => [prefix + k, v]));
}
