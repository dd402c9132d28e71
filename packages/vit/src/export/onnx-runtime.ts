import type { tf } from '@attn/core-tensor';
import type { OnnxSession, OnnxSessionOptions } from '@attn/core-tensor/onnx';
import type { ViTForImageClassification } from '../model.js';
import { encodeViTOnnx } from './onnx.js';

/**
 * A ViT image classifier compiled to ONNX and run by onnxruntime-node (an optional dependency): the
 * logits of `model.forward`, asynchronously, at native speed on every core. Inference only.
 */
export class ViTOnnxRuntime {
  private constructor(private readonly session: OnnxSession) {}

  static async fromModel(
    model: ViTForImageClassification,
    opts: OnnxSessionOptions = {},
  ): Promise<ViTOnnxRuntime> {
    const { OnnxSession } = await import('@attn/core-tensor/onnx');
    return new ViTOnnxRuntime(await OnnxSession.create(encodeViTOnnx(model).graph, opts));
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
