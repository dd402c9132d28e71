import { readPretrainedFolder, readSafetensors, tf, withDeferredInit } from '@attn/core-tensor';
import { OnnxSession, type OnnxSessionOptions, OnnxWeights } from '@attn/core-tensor/onnx';
import { type LoadOptions, withOverrides } from '../checkpoint.js';
import type { BertConfig } from '../config.js';
import { type BertInputs, prepareInputs } from '../inputs.js';
import type { BertPreTrainedModel } from '../pretrained.js';
import {
  type BertOnnxOptions,
  type BertOnnxTask,
  bertOnnxTask,
  encodeBertOnnx,
  encodeBertOnnxWeights,
} from './onnx.js';

/** A BERT class with `fromPretrained`: BertModel, BertForMaskedLM, BertForSequenceClassification, … */
export type BertArchitecture = (new (
  config: BertConfig,
) => BertPreTrainedModel) & {
  fromPretrained(dirOrId: string, opts?: LoadOptions): Promise<BertPreTrainedModel>;
};

/** What `forward` returns: the tfjs model's output names, for the outputs the exported head has. */
export interface BertOnnxOutputs {
  lastHiddenState?: tf.Tensor3D;
  poolerOutput?: tf.Tensor2D;
  logits?: tf.Tensor;
  predictionLogits?: tf.Tensor3D;
  seqRelationshipLogits?: tf.Tensor2D;
  startLogits?: tf.Tensor2D;
  endLogits?: tf.Tensor2D;
}

/**
 * A BERT model compiled to ONNX and run by onnxruntime-node (an optional dependency): the same inputs,
 * checks and outputs as `model.forward`, asynchronously, at native speed on every core. Inference only.
 * The tfjs model is left as it was; dispose it to free its memory once the runtime exists.
 */
export class BertOnnxRuntime {
  private constructor(
    readonly config: BertConfig,
    readonly task: BertOnnxTask,
    private readonly session: OnnxSession,
  ) {}

  static async fromModel(
    model: BertPreTrainedModel,
    opts: BertOnnxOptions & OnnxSessionOptions = {},
  ): Promise<BertOnnxRuntime> {
    const { graph, task } = encodeBertOnnx(model, opts);
    return new BertOnnxRuntime(model.config, task, await OnnxSession.create(graph, opts));
  }

  /**
   * Straight from a model folder or hub id: the weights go from the safetensors file to onnxruntime in host
   * memory, never through tfjs, so the process holds them about once. `architecture` names the head
   * (BertModel, BertForMaskedLM, …) as its `fromPretrained` would; a checkpoint that lacks some of the head's
   * weights (a new classifier) goes through `architecture.fromPretrained` instead, for their initialisation.
   */
  static async fromPretrained(
    dirOrId: string,
    architecture: BertArchitecture,
    opts: LoadOptions & Omit<BertOnnxOptions, 'dtype'> & OnnxSessionOptions = {},
  ): Promise<BertOnnxRuntime> {
    const { dir, config: json, weights: file } = await readPretrainedFolder(dirOrId, opts);
    const config = withOverrides(json, dir, opts);
    const shape = withDeferredInit(() => new architecture(config)); // names and shapes only: holds no weights
    // fp16 is a storage precision here (fp16 weights, fp32 compute: onnxruntime's CPU fp16 kernels are slow);
    // q8 weights are read as stored and quantised by the graph (a q8 file's values come back unchanged).
    const graphDtype = opts.dtype === 'q8' ? 'q8' : 'fp32';
    const read = { dtype: opts.dtype === 'fp16' ? ('fp16' as const) : undefined };
    const ws = OnnxWeights.forModule(shape, shape.checkpointNames(await readSafetensors(file, read)));
    if (!ws) {
      const model = await architecture.fromPretrained(dir, opts);
      try {
        return await BertOnnxRuntime.fromModel(model, { ...opts, dtype: graphDtype });
      } finally {
        model.dispose();
      }
    }
    const { graph, task } = encodeBertOnnxWeights(
      config,
      ws,
      opts.task ?? bertOnnxTask(shape, ws),
      graphDtype,
    );
    return new BertOnnxRuntime(config, task, await OnnxSession.create(graph, opts));
  }

  /** The caller owns (disposes) the returned tensors. */
  async forward(inputs: BertInputs): Promise<BertOnnxOutputs> {
    const x = prepareInputs(this.config, inputs);
    try {
      const feeds: Record<string, tf.Tensor> = {
        input_ids: x.inputIds,
        attention_mask: x.attentionMask,
        token_type_ids: x.tokenTypeIds,
      };
      for (const name of Object.keys(feeds)) if (!this.session.inputNames.includes(name)) delete feeds[name];
      const out = await this.session.run(feeds);
      // ONNX outputs carry HF's snake_case names; the tfjs model's are camelCase.
      return Object.fromEntries(
        Object.entries(out).map(([name, t]) => [
          name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
          t,
        ]),
      );
    } finally {
      tf.dispose([x.inputIds, x.attentionMask, x.tokenTypeIds]);
    }
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
