import type { Module, Parameter } from '../module.js';
import { f32BitsToF16 } from '../safetensors/dtypes.js';
import { ONNX_DTYPE, type OnnxDim, OnnxGraph, OnnxGraphError } from './graph.js';
import { quantizeQ8, transposeInt8 } from './quantize.js';
import type { OnnxWeights } from './weights.js';

/** A model output as its `toOnnx` returns it: the value and its dims (symbolic names for dynamic axes). */
export interface OnnxOutput {
  value: string;
  dims: OnnxDim[];
}

export interface OnnxModuleGraphOptions {
  /**
   * 'q8': every Linear emits int8 per-channel weights with dynamic activation quantisation (see `Linear.toOnnx`);
   * everything else stays float32. 'fp16': every parameter stored as float16 and cast to float32 where it is
   * read (half the file; onnxruntime folds the casts at load, so it computes in float32, inputs and outputs
   * float32 as well: onnxruntime's CPU fp16 kernels would be slower). Default 'fp32'.
   */
  dtype?: 'fp32' | 'fp16' | 'q8';
  /**
   * 'inputs': every trainable parameter is a float32 graph input under its state-dict name, in HF layout
   * (frozen ones stay initializers), so a training graph takes new weights each step (see `NativeTrainStep`).
   * Default 'initializers': the weights are stored in the graph.
   */
  parameters?: 'initializers' | 'inputs';
  /** A training graph: modules in training mode emit their dropout (see `OnnxGraph.dropout`). Default false. */
  training?: boolean;
}

/**
 * The graph a module tree renders itself into: each module's `toOnnx`, written beside its `forward`, appends
 * its nodes and reads its parameters through `param`. A parameter is stored once (a tied one too), under its
 * state-dict name and in the checkpoint's layout, so each module emits the ops that fit that layout.
 */
export class OnnxModuleGraph extends OnnxGraph {
  private readonly names = new Map<Parameter, string>();
  private readonly values = new Map<Parameter, string>();
  private readonly q8 = new Map<Parameter, { weight: string; scale: string }>();
  /** The precision the graph's Linears compute at ('fp16': stored at). */
  readonly dtype: 'fp32' | 'fp16' | 'q8';
  /** The trainable parameters read as graph inputs (`parameters: 'inputs'`), by input name, in read order. */
  readonly parameterInputs = new Map<string, Parameter>();
  /** Those of `parameterInputs` read in HF layout (their layout has no `toExternalOnnx`); the rest as tfjs holds them. */
  readonly externalLayoutInputs = new Set<string>();
  private readonly parametersAsInputs: boolean;

  constructor(
    name: string,
    root: Module,
    private readonly weights: OnnxWeights,
    opts: OnnxModuleGraphOptions = {},
  ) {
    super(name);
    if (opts.dtype !== undefined && !['fp32', 'fp16', 'q8'].includes(opts.dtype))
      throw new OnnxGraphError(
        `dtype ${JSON.stringify(opts.dtype)} is not an ONNX graph precision (fp32, fp16, q8)`,
      );
    this.dtype = opts.dtype ?? 'fp32';
    this.parametersAsInputs = opts.parameters === 'inputs';
    this.training = opts.training ?? false;
    if (this.parametersAsInputs && this.dtype !== 'fp32')
      throw new OnnxGraphError(`parameters: 'inputs' needs dtype 'fp32' (got '${this.dtype}')`);
    for (const [n, p] of root.namedParameters()) this.names.set(p, n);
  }

  /** The initializer that holds `p` in HF layout (a Linear's [out, in]), added on first use. */
  param(p: Parameter): string {
    const added = this.values.get(p);
    if (added) return added;
    const name = this.names.get(p);
    if (name === undefined)
      throw new OnnxGraphError('a module read a parameter that is not part of the exported module tree');
    if (this.parametersAsInputs && p.trainable) {
      // Fed as tfjs holds it where the layout has an ONNX form (its conversion then runs in the graph, and
      // the gradient comes back in the same layout); otherwise in HF layout.
      const toExternal = p.layout?.toExternalOnnx;
      const input = this.input(name, 'float32', toExternal ? p.shape : p.externalShape);
      const value = toExternal ? toExternal(this, input) : input;
      if (p.layout && !toExternal) this.externalLayoutInputs.add(name);
      this.values.set(p, value);
      this.parameterInputs.set(name, p);
      this.weights.ignore(name);
      return value;
    }
    const t = this.weights.get(name);
    const want = p.externalShape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i]))
      throw new OnnxGraphError(`weight "${name}" has shape [${t.shape}], the model expects [${want}]`);
    let value: string;
    if (this.dtype === 'fp16') {
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      const half = new Uint16Array(t.data.length);
      for (let i = 0; i < half.length; i++) half[i] = f32BitsToF16(bits[i] as number);
      value = this.node('Cast', [this.initializer(name, 'float16', t.shape, half)], {
        to: ONNX_DTYPE.float32,
      });
    } else value = this.initializer(name, 'float32', t.shape, t.data);
    this.values.set(p, value);
    return value;
  }

  /**
   * A [out, in] matrix parameter quantised to q8: `weight` int8 [in, out] (MatMulInteger's B, so no Transpose
   * runs on int8 at load) under `<name>_quantized`, and `scale` float32 [out] under `<name>_scale`.
   */
  paramQ8(p: Parameter): { weight: string; scale: string } {
    const added = this.q8.get(p);
    if (added) return added;
    const name = this.names.get(p);
    if (name === undefined)
      throw new OnnxGraphError('a module read a parameter that is not part of the exported module tree');
    const t = this.weights.get(name);
    if (t.shape.length !== 2)
      throw new OnnxGraphError(`weight "${name}" has shape [${t.shape}]; q8 quantises [out, in] matrices`);
    const [rows, cols] = t.shape;
    const { q, scale } = quantizeQ8(t.data, rows, cols);
    const out = {
      weight: this.initializer(`${name}_quantized`, 'int8', [cols, rows], transposeInt8(q, rows, cols)),
      scale: this.initializer(`${name}_scale`, 'float32', [rows], scale),
    };
    this.q8.set(p, out);
    return out;
  }

  /** Declares a model's outputs (float32), under the names its `toOnnx` gives them. */
  declareOutputs(outs: Record<string, OnnxOutput | undefined>): void {
    for (const [name, o] of Object.entries(outs)) if (o) this.output(name, o.value, 'float32', o.dims);
  }

  /** Throws when a weight was given that no module read: the graph would silently drop it. */
  checkAllRead(task: string): void {
    const unused = this.weights.unused();
    if (unused.length)
      throw new OnnxGraphError(
        `export of task "${task}" would drop weights: ${unused.join(', ')} (wrong task for this model?)`,
      );
  }
}
