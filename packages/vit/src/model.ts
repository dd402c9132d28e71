import { firstToken, firstTokenOnnx, Pooler, TransformerEncoder } from '@attn/attention';
import {
  type CheckpointLayout,
  LayerNorm,
  Linear,
  type LoadingInfo,
  loadPretrainedModel,
  Module,
  type PretrainedModelOptions,
  type SaveOptions,
  savePretrainedModel,
  tf,
  withConfigOverrides,
} from '@attn/core-tensor';
import type { OnnxModuleGraph, OnnxOutput } from '@attn/core-tensor/onnx';
import { ViTConfig, type ViTConfigFields } from './config.js';
import { ViTEmbeddings } from './embeddings.js';

export interface ViTLoadOptions extends PretrainedModelOptions {
  /** Config fields to override, as HF's `from_pretrained(dir, num_labels=…, id2label=…)`. */
  config?: Partial<ViTConfigFields> & Record<string, unknown>;
}

/** HF's ViT checkpoint naming (`base_model_prefix = "vit"`). */
export const VIT_LAYOUT: CheckpointLayout = {
  prefix: 'vit.',
  baseChildren: ['embeddings', 'encoder', 'layernorm', 'pooler'],
};

const vitSpec = (opts: ViTLoadOptions) => ({
  config: (json: Record<string, unknown>, source: string) =>
    ViTConfig.from(withConfigOverrides(json, opts.config), source, opts),
  layout: VIT_LAYOUT,
});

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

/**
 * Hugging Face `ViTModel`: patch embedding + [CLS] + positions → pre-LN Transformer encoder → LayerNorm
 * (→ optional pooler). State-dict names `embeddings.*`, `encoder.layer.N.*`, `layernorm.*`, `pooler.dense.*`.
 */
export class ViTModel extends Module {
  readonly config: ViTConfig;
  readonly embeddings: ViTEmbeddings;
  readonly encoder: TransformerEncoder;
  readonly layernorm: LayerNorm;
  /** HF `ViTPooler`, which is BERT's pooler: tanh(dense(hidden[:, 0])). */
  readonly pooler?: Pooler;

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
      this.pooler = this.module('pooler', new Pooler(f.hidden_size, f.initializer_range));
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

  /** `forward` in ONNX (no mask: every patch is attended); outputs under HF's ModelOutput names. */
  toOnnx(
    g: OnnxModuleGraph,
    pixelValues: string,
  ): { last_hidden_state: OnnxOutput; pooler_output?: OnnxOutput } {
    const f = this.config.fields;
    const hidden = this.layernorm.toOnnx(g, this.encoder.toOnnx(g, this.embeddings.toOnnx(g, pixelValues)));
    const tokens = Math.floor(f.image_size / f.patch_size) ** 2 + 1;
    return {
      last_hidden_state: { value: hidden, dims: ['batch', tokens, f.hidden_size] },
      ...(this.pooler
        ? { pooler_output: { value: this.pooler.toOnnx(g, hidden), dims: ['batch', f.hidden_size] } }
        : {}),
    };
  }

  /** What `fromPretrained` found missing or extra. */
  loadingInfo?: LoadingInfo;

  /**
   * Loads an HF ViT folder or hub id through core-tensor's shared lifecycle (the one BERT uses): a
   * classification checkpoint's backbone is taken from under `vit.` (its classifier reported as unexpected);
   * encoder layers the checkpoint lacks, or shapes that disagree, throw StateDictError.
   */
  static async fromPretrained(
    dirOrId: string,
    opts: ViTLoadOptions & { addPoolingLayer?: boolean } = {},
  ): Promise<ViTModel> {
    const { model, loadingInfo } = await loadPretrainedModel(dirOrId, opts, {
      ...vitSpec(opts),
      build: (config, names) =>
        new ViTModel(config, {
          addPoolingLayer:
            opts.addPoolingLayer ??
            (names.has('pooler.dense.weight') || names.has('vit.pooler.dense.weight')),
        }),
      basePrefix: '',
    });
    model.loadingInfo = loadingInfo;
    return model;
  }

  async save(dir: string, metadata?: Record<string, string>, opts: SaveOptions = {}): Promise<void> {
    await savePretrainedModel(this, dir, configJson(this.config), metadata, opts);
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
      const logits = this.classifier.forward(firstToken(out.lastHiddenState)) as tf.Tensor2D;
      return {
        logits,
        ...(out.hiddenStates ? { hiddenStates: out.hiddenStates } : {}),
        ...(out.attentions ? { attentions: out.attentions } : {}),
      };
    });
  }

  toOnnx(g: OnnxModuleGraph, pixelValues: string): { logits: OnnxOutput } {
    const hidden = this.vit.toOnnx(g, pixelValues).last_hidden_state.value;
    const logits = this.classifier.toOnnx(g, firstTokenOnnx(g, hidden));
    return { logits: { value: logits, dims: ['batch', this.config.numLabels] } };
  }

  /** What `fromPretrained` found missing or extra. */
  loadingInfo?: LoadingInfo;

  /**
   * Loads an HF ViT folder or hub id (config.json + model.safetensors or shards). A bare ViTModel checkpoint
   * loads too; its classifier then keeps its random initialisation (reported in `missing`) and its pooler is
   * reported as unexpected, as HF does.
   */
  static async fromPretrained(
    dirOrId: string,
    opts: ViTLoadOptions = {},
  ): Promise<ViTForImageClassification> {
    const { model, loadingInfo } = await loadPretrainedModel(dirOrId, opts, {
      ...vitSpec(opts),
      build: (config) => new ViTForImageClassification(config),
      basePrefix: 'vit.',
    });
    model.loadingInfo = loadingInfo;
    return model;
  }

  /** `opts.maxShardBytes` writes HF's sharded layout (shards + model.safetensors.index.json). */
  async save(dir: string, metadata?: Record<string, string>, opts: SaveOptions = {}): Promise<void> {
    await savePretrainedModel(
      this,
      dir,
      configJson(this.config, ['ViTForImageClassification']),
      metadata,
      opts,
    );
  }
}

function configJson(config: ViTConfig, architectures?: string[]): string {
  return `${JSON.stringify({ ...config.toJSON(), ...(architectures ? { architectures } : {}) }, null, 2)}\n`;
}
