import type { Module, Parameter } from '../module.js';
import { type OnnxDim, OnnxGraph, OnnxGraphError } from './graph.js';
import type { OnnxWeights } from './weights.js';

/** A model output as its `toOnnx` returns it: the value and its dims (symbolic names for dynamic axes). */
export interface OnnxOutput {
  value: string;
  dims: OnnxDim[];
}

/**
 * The graph a module tree renders itself into: each module's `toOnnx`, written beside its `forward`, appends
 * its nodes and reads its parameters through `param`. A parameter is stored once (a tied one too), under its
 * state-dict name and in the checkpoint's layout, so each module emits the ops that fit that layout.
 */
export class OnnxModuleGraph extends OnnxGraph {
  private readonly names = new Map<Parameter, string>();
  private readonly values = new Map<Parameter, string>();

  constructor(
    name: string,
    root: Module,
    private readonly weights: OnnxWeights,
  ) {
    super(name);
    for (const [n, p] of root.namedParameters()) this.names.set(p, n);
  }

  /** The initializer that holds `p` in HF layout (a Linear's [out, in]), added on first use. */
  param(p: Parameter): string {
    const added = this.values.get(p);
    if (added) return added;
    const name = this.names.get(p);
    if (name === undefined)
      throw new OnnxGraphError('a module read a parameter that is not part of the exported module tree');
    const t = this.weights.get(name);
    const want = p.externalShape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i]))
      throw new OnnxGraphError(`weight "${name}" has shape [${t.shape}], the model expects [${want}]`);
    const value = this.initializer(name, 'float32', t.shape, t.data);
    this.values.set(p, value);
    return value;
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
