import { interpolatePositionEmbeddings } from '@attn/attention';
import { Dropout, initNormal, Module, type ParameterLayout, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import type { ViTConfigFields } from './config.js';

/** Thrown when pixel values do not fit the model (rank, channels, size); names the tensor. */
export class ViTInputError extends Error {
  override readonly name = 'ViTInputError';
}

/**
 * A Conv2d with kernel = stride = patch is a matmul over flattened patches. PyTorch stores the kernel
 * OIHW [hidden, C, P, P]; we keep [C·P·P, hidden] (patch pixels in (c, y, x) order), converted once at load.
 */
function convAsMatmulLayout(hidden: number, channels: number, patch: number): ParameterLayout {
  const externalShape = [hidden, channels, patch, patch];
  return {
    externalShape,
    fromExternal: (t) => tf.tidy(() => tf.transpose(tf.reshape(t, [hidden, channels * patch * patch]))),
    toExternal: (t) => tf.tidy(() => tf.reshape(tf.transpose(t), externalShape)),
    toExternalOnnx: (g, v) =>
      g.node('Reshape', [g.node('Transpose', [v], { perm: [1, 0] }), g.constInt64(externalShape)]),
  };
}

/** HF `patch_embeddings.projection`: state-dict names `weight` [H, C, P, P] and `bias` [H]. */
class PatchProjection extends Module {
  readonly weight;
  readonly bias;
  constructor(hidden: number, channels: number, patch: number, std: number) {
    super();
    // Described, not computed: a model built to be loaded (or only walked for ONNX) never holds a random init.
    const shape = [channels * patch * patch, hidden];
    this.weight = this.param(
      'weight',
      { shape, init: () => initNormal(shape, std) },
      { layout: convAsMatmulLayout(hidden, channels, patch) },
    );
    this.bias = this.param('bias', { shape: [hidden], init: () => tf.zeros([hidden]) });
  }
}

/** HF `ViTPatchEmbeddings`: cuts [b, C, H, W] into P×P patches and projects each to a token. */
export class PatchEmbeddings extends Module {
  readonly projection: PatchProjection;
  constructor(
    readonly channels: number,
    readonly patch: number,
    hidden: number,
    std: number,
  ) {
    super();
    this.projection = this.module('projection', new PatchProjection(hidden, channels, patch, std));
  }

  /** pixels [b, C, H, W] → [b, (H/P)·(W/P), hidden]; remainder rows/columns are dropped, as a strided conv does. */
  forward(pixels: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, c, h, w] = pixels.shape;
      const P = this.patch;
      const gh = Math.floor(h / P);
      const gw = Math.floor(w / P);
      const x = h % P || w % P ? tf.slice(pixels, [0, 0, 0, 0], [b, c, gh * P, gw * P]) : pixels;
      // [b, C, gh, P, gw, P] → [b, gh, gw, C, P, P]: one row of C·P·P pixels per patch, row-major over the grid.
      const patches = tf.transpose(tf.reshape(x, [b, c, gh, P, gw, P]), [0, 2, 4, 1, 3, 5]);
      const flat = tf.reshape(patches, [b * gh * gw, c * P * P]) as tf.Tensor2D;
      const tokens = tf.fused.matMul({
        a: flat,
        b: this.projection.weight.value as tf.Tensor2D,
        bias: this.projection.bias.value,
      });
      return tf.reshape(tokens, [b, gh * gw, -1]) as tf.Tensor3D;
    });
  }

  /**
   * The same in ONNX, where the checkpoint's OIHW kernel is a Conv's own layout (kernel = stride = P, so a
   * remainder is dropped as above): pixels [b, C, H, W] → [b, H, gh, gw] → [b, gh·gw, hidden].
   */
  toOnnx(g: OnnxModuleGraph, pixels: string): string {
    const P = this.patch;
    const conv = g.node('Conv', [pixels, g.param(this.projection.weight), g.param(this.projection.bias)], {
      kernel_shape: [P, P],
      strides: [P, P],
    });
    const flat = g.node('Reshape', [conv, g.constInt64([0, 0, -1])]); // [b, hidden, gh·gw]
    return g.node('Transpose', [flat], { perm: [0, 2, 1] });
  }
}

/** HF `ViTEmbeddings`: [CLS] + patch tokens, plus learned positions (interpolated for other image sizes). */
export class ViTEmbeddings extends Module {
  readonly clsToken;
  readonly positionEmbeddings;
  readonly patchEmbeddings: PatchEmbeddings;
  private readonly dropout: Dropout;

  constructor(readonly config: ViTConfigFields) {
    super();
    const { hidden_size: H, image_size, patch_size, num_channels, initializer_range: std } = config;
    const numPatches = Math.floor(image_size / patch_size) ** 2;
    const grid = [1, numPatches + 1, H];
    this.clsToken = this.param('cls_token', { shape: [1, 1, H], init: () => initNormal([1, 1, H], std) });
    this.positionEmbeddings = this.param('position_embeddings', {
      shape: grid,
      init: () => initNormal(grid, std),
    });
    this.patchEmbeddings = this.module(
      'patch_embeddings',
      new PatchEmbeddings(num_channels, patch_size, H, std),
    );
    this.dropout = this.module('dropout', new Dropout(config.hidden_dropout_prob));
  }

  /** pixels [b, C, H, W] → tokens [b, 1 + patches, hidden]. */
  forward(pixels: tf.Tensor, opts: { interpolatePosEncoding?: boolean } = {}): tf.Tensor3D {
    const { num_channels, image_size } = this.config;
    if (pixels.rank !== 4)
      throw new ViTInputError(`pixelValues: expected [batch, ${num_channels}, H, W], got [${pixels.shape}]`);
    const [b, c, h, w] = pixels.shape;
    if (c !== num_channels)
      throw new ViTInputError(
        `pixelValues: ${c} channels, but the model expects num_channels=${num_channels}`,
      );
    if (!opts.interpolatePosEncoding && (h !== image_size || w !== image_size))
      throw new ViTInputError(
        `pixelValues: input image size (${h}*${w}) doesn't match model (${image_size}*${image_size}); pass interpolatePosEncoding: true`,
      );
    const P = this.config.patch_size;
    if (h < P || w < P)
      throw new ViTInputError(`pixelValues: image ${h}×${w} is smaller than one ${P}×${P} patch`);
    return tf.tidy(() => {
      const patches = this.patchEmbeddings.forward(pixels as tf.Tensor4D);
      const cls = tf.tile(this.clsToken.value, [b, 1, 1]);
      const tokens = tf.concat([cls, patches], 1);
      // As HF: the stored grid is used as is when the patch count matches and the image is square.
      const same = patches.shape[1] === this.positionEmbeddings.shape[1] - 1 && h === w;
      const pos =
        opts.interpolatePosEncoding && !same
          ? interpolatePositionEmbeddings(this.positionEmbeddings.value, Math.floor(h / P), Math.floor(w / P))
          : this.positionEmbeddings.value;
      return this.dropout.forward(tf.add(tokens, pos)) as tf.Tensor3D;
    });
  }

  /** The same in ONNX, at the config's image size (the position grid is not interpolated in the graph). */
  toOnnx(g: OnnxModuleGraph, pixels: string): string {
    const patches = this.patchEmbeddings.toOnnx(g, pixels); // [b, N, H]
    // tile(cls, [b, 1, 1]) with a dynamic b: Expand(cls [1, 1, H], [b, 1, H]).
    const b = g.node('Gather', [g.node('Shape', [pixels]), g.constInt64([0])], { axis: 0 }); // [1]
    const clsShape = g.node('Concat', [b, g.constInt64([1, this.config.hidden_size])], { axis: 0 });
    const cls = g.node('Expand', [g.param(this.clsToken), clsShape]);
    const tokens = g.node('Concat', [cls, patches], { axis: 1 }); // [b, N + 1, H]
    const summed = g.node('Add', [tokens, g.param(this.positionEmbeddings)]);
    return g.dropout(summed, this.dropout.rate, this.dropout.training);
  }
}
