import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  atomicWriteFile,
  Module,
  StateDictError,
  withDeferredInit,
  writeSafetensors,
} from '@attn/core-tensor';
import { type LoadingInfo, type LoadOptions, readCheckpoint } from './checkpoint.js';
import { type BertConfig, bertConfigToJSON } from './config.js';

/** Buffers and tied weights HF may have in a checkpoint but never needs: dropped silently on load. */
const IGNORED = [
  /(^|\.)embeddings\.position_ids$/,
  /(^|\.)embeddings\.token_type_ids$/,
  /^cls\.predictions\.decoder\.(weight|bias)$/,
];

/** The base BertModel's top-level children, to recognise a checkpoint saved without the `bert.` prefix. */
const BASE_CHILDREN = /^(embeddings|encoder|pooler)\./;

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
   * reported as missing — but a shape that disagrees with config.json throws a StateDictError naming the
   * tensor and both shapes. The model is returned in eval mode.
   */
  static async fromPretrained<T extends BertPreTrainedModel>(
    this: new (
      config: BertConfig,
    ) => T,
    dirOrId: string,
    opts: LoadOptions = {},
  ): Promise<T> {
    const ckpt = await readCheckpoint(dirOrId, opts);
    // Deferred: no random initialisation is computed for weights the checkpoint provides.
    const model = withDeferredInit(() => new this(ckpt.config));
    try {
      const renamed = model.checkpointNames(ckpt.tensors);
      model.loadingInfo = model.loadStateDict(renamed, { strict: false, release: true });
    } catch (e) {
      model.dispose();
      if (e instanceof StateDictError)
        e.message = `the weights in ${ckpt.dir} do not fit its config.json: ${e.message}`;
      throw e;
    } finally {
      for (const t of ckpt.tensors.values()) t.dispose();
    }
    opts.onLoadingInfo?.(model.loadingInfo!);
    return model.eval();
  }

  /** Maps checkpoint names onto this model's: adds or strips the `bert.` prefix as HF does, drops buffers. */
  checkpointNames<T>(tensors: Map<string, T>): Map<string, T> {
    const out = new Map<string, T>();
    const prefixed = [...tensors.keys()].some((k) => k.startsWith('bert.'));
    for (const [name, t] of tensors) {
      if (IGNORED.some((re) => re.test(name))) continue;
      let n = name;
      if (this.basePrefix === '' && prefixed && n.startsWith('bert.')) n = n.slice('bert.'.length);
      else if (this.basePrefix !== '' && !prefixed && BASE_CHILDREN.test(n)) n = this.basePrefix + n;
      out.set(n, t);
    }
    return out;
  }

  /**
   * Writes `<dir>/config.json` and `<dir>/model.safetensors` (tied weights once, as HF saves them),
   * each atomically. Python `BertFor….from_pretrained(dir)` loads the result.
   */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const tensors = this.stateDict();
    try {
      await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    const architecture = (this.constructor as typeof BertPreTrainedModel).architecture;
    await atomicWriteFile(join(dir, 'config.json'), bertConfigToJSON(this.config, [architecture]));
  }
}
