import * as tf from '@tensorflow/tfjs-core';
import { checkBackend } from './backend/errors.js';
import type { OnnxGraph } from './onnx/graph.js';

/**
 * How a parameter is stored on disk (the Hugging Face / PyTorch layout) versus how we keep it in memory.
 * The conversion runs once, at load and save, never per forward call.
 * Example: a PyTorch Linear weight is `[out, in]`; we keep `[in, out]` so `x · W` needs no transpose.
 */
export interface ParameterLayout {
  /** Shape as stored in a state dict (HF layout). */
  externalShape: readonly number[];
  /** HF layout → in-memory layout. Must not dispose its input. */
  fromExternal(t: tf.Tensor): tf.Tensor;
  /** In-memory layout → HF layout. Must not dispose its input. */
  toExternal(t: tf.Tensor): tf.Tensor;
  /**
   * `toExternal` as ONNX nodes on the graph value `v`: lets a training graph read the parameter as tfjs holds
   * it (NativeTrainStep feeds the variable and gets its gradient back with no conversion per step).
   */
  toExternalOnnx?(g: OnnxGraph, v: string): string;
}

/** A parameter's initial value, described rather than computed: see `withDeferredInit`. */
export interface Initializer {
  shape: readonly number[];
  init: () => tf.Tensor;
}

let deferring = 0;

/**
 * Builds modules whose Initializer-described parameters take no memory until they are loaded or first used.
 * `fromPretrained` builds this way, so a checkpoint's weights are never held next to a random initialisation.
 * Outside this scope an Initializer runs at once, in construction order (seeded initialisation unchanged).
 */
export function withDeferredInit<T>(build: () => T): T {
  deferring++;
  try {
    return build();
  } finally {
    deferring--;
  }
}

/** A named, trainable tensor owned by a Module. */
export class Parameter {
  private current?: tf.Variable;
  private pending?: Initializer;
  constructor(
    initial: tf.Tensor | Initializer,
    readonly trainable = true,
    readonly layout?: ParameterLayout,
  ) {
    if (initial instanceof tf.Tensor) this.set(initial);
    else if (deferring > 0) this.pending = initial;
    else {
      checkBackend('initialising a parameter');
      this.set(initial.init());
    }
  }
  /** The tfjs variable (a deferred initial value is computed on first access). */
  get variable(): tf.Variable {
    if (!this.current) {
      checkBackend('initialising a parameter');
      this.set(tf.tidy(() => this.pending!.init()));
    }
    return this.current!;
  }
  get value(): tf.Variable {
    return this.variable;
  }
  get shape(): number[] {
    return this.current ? this.current.shape : [...this.pending!.shape];
  }
  /** Shape as it appears in a Hugging Face state dict. */
  get externalShape(): number[] {
    return [...(this.layout?.externalShape ?? this.shape)];
  }
  /** Frees the value (a deferred one that was never computed has nothing to free). */
  dispose(): void {
    this.current?.dispose();
    this.pending = undefined;
  }
  /** Takes `t` (in memory layout) as the value, without copying it; `t` is owned by the parameter afterwards. */
  set(t: tf.Tensor): void {
    if (this.current) this.current.assign(t);
    else this.current = tf.variable(t, this.trainable);
    this.pending = undefined;
    t.dispose(); // the variable holds its own reference to the data
  }
}

/** Thrown by `loadStateDict` when names or shapes disagree; lists every problem at once. */
export class StateDictError extends Error {
  override readonly name = 'StateDictError';
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: { name: string; expected: number[]; got: number[] }[],
  ) {
    const lines: string[] = [];
    if (missing.length) lines.push(`missing: ${missing.join(', ')}`);
    if (unexpected.length) lines.push(`unexpected: ${unexpected.join(', ')}`);
    for (const m of mismatched)
      lines.push(`shape mismatch for ${m.name}: model expects [${m.expected}], checkpoint has [${m.got}]`);
    super(`state dict does not fit the model:\n  ${lines.join('\n  ')}`);
  }
}

export interface LoadStateDictResult {
  missing: string[];
  unexpected: string[];
}

/**
 * A tree of named parameters and sub-modules, with dotted Hugging Face state-dict names
 * (`encoder.layer.0.attention.self.query.weight`). Subclasses register children in their constructor
 * with `this.module(name, m)` / `this.param(name, tensor)` and define their own `forward`.
 */
export abstract class Module {
  training = false;
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  protected param(
    name: string,
    initial: tf.Tensor | Initializer,
    opts: { trainable?: boolean; layout?: ParameterLayout } = {},
  ) {
    const p = new Parameter(initial, opts.trainable ?? true, opts.layout);
    this.params.set(name, p);
    return p;
  }

  /** Registers an existing Parameter under another name (weight tying): it is saved once, under its first name. */
  protected shareParam(name: string, p: Parameter) {
    this.params.set(name, p);
    return p;
  }

  protected module<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every parameter with its dotted name; a tied parameter appears once, under the first name met. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    this.walk(prefix, (name, p) => {
      if (seen.has(p)) return;
      seen.add(p);
      out.push([name, p]);
    });
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  private walk(prefix: string, visit: (name: string, p: Parameter) => void) {
    for (const [n, p] of this.params) visit(prefix ? `${prefix}.${n}` : n, p);
    for (const [n, m] of this.children) m.walk(prefix ? `${prefix}.${n}` : n, visit);
  }

  /** Tensors in Hugging Face layout, keyed by state-dict name. The caller owns (and disposes) them. */
  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, p] of this.namedParameters())
      out.set(name, p.layout ? tf.tidy(() => p.layout!.toExternal(p.variable)) : p.variable.clone());
    return out;
  }

  /**
   * Assigns tensors given in Hugging Face layout. With `strict` (default) any missing, unexpected or
   * mis-shaped name throws a StateDictError listing all of them, and nothing is assigned.
   * Without it, mis-shapes still throw; missing and unexpected names are returned.
   * The input tensors are not disposed, unless `release`: then each is disposed once assigned, so that a
   * layout conversion can reuse its memory and the weights are held once (what `fromPretrained` does).
   */
  loadStateDict(
    tensors: Map<string, tf.Tensor>,
    opts: { strict?: boolean; release?: boolean } = {},
  ): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const named = this.namedParameters();
    const known = new Set(named.map(([n]) => n));
    const missing = named.filter(([n]) => !tensors.has(n)).map(([n]) => n);
    const unexpected = [...tensors.keys()].filter((n) => !known.has(n));
    const mismatched = named
      .filter(([n, p]) => tensors.has(n) && !sameShape(tensors.get(n)!.shape, p.externalShape))
      .map(([n, p]) => ({ name: n, expected: p.externalShape, got: [...tensors.get(n)!.shape] }));
    if (mismatched.length || (strict && (missing.length || unexpected.length)))
      throw new StateDictError(missing, unexpected, mismatched);
    for (const [n, p] of named) {
      const t = tensors.get(n);
      if (!t) continue;
      p.set(tf.tidy(() => tf.cast(p.layout ? p.layout.fromExternal(t) : t, 'float32')));
      if (opts.release) t.dispose();
    }
    return { missing, unexpected };
  }

  /** Training mode turns dropout on. Applies to the whole tree. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
