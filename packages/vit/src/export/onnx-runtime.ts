import {
  type HubOptions,
  readPretrainedFolder,
  readSafetensors,
  type tf,
  withDeferredInit,
} from '@attn/core-tensor';
import { OnnxSession, type OnnxSessionOptions, OnnxWeights } from '@attn/core-tensor/onnx';
import { ViTConfig } from '../config.js';
import { ViTForImageClassification } from '../model.js';
import { encodeViTOnnx, encodeViTOnnxWeights, type ViTOnnxOptions } from './onnx.js';

/**
 * A ViT image classifier compiled to ONNX and run by onnxruntime-node (an optional dependency): the
 * logits of `model.forward`, asynchronously, at native speed on every core. Inference only.
 */
export class ViTOnnxRuntime {
  private constructor(
    readonly config: ViTConfig,
    private readonly session: OnnxSession,
  ) {}

  static async fromModel(
    model: ViTForImageClassification,
    opts: OnnxSessionOptions & Pick<ViTOnnxOptions, 'dtype'> = {},
  ): Promise<ViTOnnxRuntime> {
    const { graph } = encodeViTOnnx(model, { dtype: opts.dtype });
    return new ViTOnnxRuntime(model.config, await OnnxSession.create(graph, opts));
  }

  /**
   * Straight from a model folder or hub id: the weights go from the safetensors file to onnxruntime in host
   * memory, never through tfjs. A checkpoint without the classifier (a bare ViTModel) goes through
   * `ViTForImageClassification.fromPretrained`, which initialises it.
   */
  static async fromPretrained(
    dirOrId: string,
    opts: HubOptions & OnnxSessionOptions = {},
  ): Promise<ViTOnnxRuntime> {
    const { dir, config: json, weights: file } = await readPretrainedFolder(dirOrId, opts);
    const config = ViTConfig.from(json, `${dir}/config.json`);
    const shape = withDeferredInit(() => new ViTForImageClassification(config)); // names only, no weights
    // fp16 is a storage precision here (fp16 weights, fp32 compute: onnxruntime's CPU fp16 kernels are slow);
    // q8 weights are read as stored and quantised by the graph (a q8 file's values come back unchanged).
    const graphDtype = opts.dtype === 'q8' ? 'q8' : 'fp32';
    const read = { dtype: opts.dtype === 'fp16' ? ('fp16' as const) : undefined };
    const ws = OnnxWeights.forModule(shape, await readSafetensors(file, read));
    if (!ws) {
      const model = await ViTForImageClassification.fromPretrained(dir, opts);
      try {
        return await ViTOnnxRuntime.fromModel(model, { ...opts, dtype: graphDtype });
      } finally {
        model.dispose();
      }
    }
    const { graph } = encodeViTOnnxWeights(config, ws, undefined, graphDtype);
    return new ViTOnnxRuntime(config, await OnnxSession.create(graph, opts));
  }

  /** pixelValues [n, 3, H, W] → logits [n, numLabels]; the caller disposes them. */
  async forward(pixelValues: tf.Tensor4D): Promise<{ logits: tf.Tensor2D }> {
    const out = await this.session.run({ pixel_values: pixelValues });
    return { logits: out.logits as tf.Tensor2D };
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
