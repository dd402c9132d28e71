import {
  type CheckpointLayout,
  loadPretrainedModel,
  Module,
  type SaveOptions,
  savePretrainedModel,
  toModelNames,
  withConfigOverrides,
} from '@attn/core-tensor';
import type { LoadingInfo, LoadOptions } from './checkpoint.js';
import { type BertConfig, bertConfigToJSON, parseBertConfig } from './config.js';

/** HF's BERT checkpoint naming (`base_model_prefix = "bert"`). */
const BERT_LAYOUT: CheckpointLayout = {
  prefix: 'bert.',
  baseChildren: ['embeddings', 'encoder', 'pooler'],
  // Buffers and the tied MLM decoder: HF may save them, nothing needs them.
  ignored: [
    /(^|\.)embeddings\.position_ids$/,
    /(^|\.)embeddings\.token_type_ids$/,
    /^cls\.predictions\.decoder\.(weight|bias)$/,
  ],
};

/**
 * What every BERT model shares: its config, loading from a Hugging Face folder, saving to one.
 * `basePrefix` is where the BertModel sits in the state-dict names: '' for BertModel, 'bert.' for the heads.
 */
export abstract class BertPreTrainedModel extends Module {
  /** The class name written to config.json `architectures`. */
  static readonly architecture: string;
  protected abstract readonly basePrefix: string;
  /** What `fromPretrained` found missing or extra. */
  loadingInfo?: LoadingInfo;

  constructor(readonly config: BertConfig) {
    super();
  }

  /**
   * Loads a Hugging Face folder or hub id (config.json + model.safetensors). As HF: names need not all match —
   * another head's weights are reported as unexpected, a missing head stays randomly initialised and is
   * reported as missing — but a shape that disagrees with config.json, or encoder layers the checkpoint does
   * not hold, throw a StateDictError naming the tensors. The config is checked (types, bounds, `maxModelBytes`)
   * before any weight is read. The model is returned in eval mode. The lifecycle is core-tensor's
   * `loadPretrainedModel`, shared with ViT; only the `bert.` layout is BERT's.
   */
  static async fromPretrained<T extends BertPreTrainedModel>(
    this: new (
      config: BertConfig,
    ) => T,
    dirOrId: string,
    opts: LoadOptions = {},
  ): Promise<T> {
    const { model, loadingInfo } = await loadPretrainedModel(dirOrId, opts, {
      config: (json, source) => parseBertConfig(withConfigOverrides(json, opts.config), source, opts),
      build: (config) => new this(config),
      layout: BERT_LAYOUT,
      basePrefix: (m) => m.basePrefix,
    });
    model.loadingInfo = loadingInfo;
    return model;
  }

  /** Maps checkpoint names onto this model's: adds or strips the `bert.` prefix as HF does, drops buffers. */
  checkpointNames<T>(tensors: Map<string, T>): Map<string, T> {
    return toModelNames(tensors, BERT_LAYOUT, this.basePrefix);
  }

  /**
   * Writes `<dir>/config.json` and `<dir>/model.safetensors` (tied weights once, as HF saves them),
   * each atomically. Python `BertFor….from_pretrained(dir)` loads the result. With `opts.maxShardBytes` the
   * weights are written in HF's sharded layout (shards + model.safetensors.index.json).
   */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const architecture = (this.constructor as typeof BertPreTrainedModel).architecture;
    await savePretrainedModel(this, dir, bertConfigToJSON(this.config, [architecture]), undefined, opts);
  }
}
