import * as tf from '@tensorflow/tfjs-core';
import type { Module, Parameter } from '../module.js';

export interface AdamWOptions {
  /** Learning rate; change it between steps (e.g. from linearWarmupDecay) with `optimizer.lr = …`. */
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (PyTorch default 0.01). */
  weightDecay?: number;
  /** Which parameters decay, by HF name. Default: all (PyTorch). `noDecayForBiasAndNorm` is HF Trainer's rule. */
  decay?: (name: string) => boolean;
}

/** HF Trainer's rule: biases and LayerNorm weights get no weight decay. */
export const noDecayForBiasAndNorm = (name: string) => !/(^|\.)bias$|layer_?norm/i.test(name);

/** Gradients keyed by tf variable name (what tf.variableGrads returns) or by HF parameter name. */
export type Grads = Record<string, tf.Tensor> | Map<string, tf.Tensor>;

interface Slot {
  name: string;
  param: Parameter;
  decay: boolean;
  expAvg?: tf.Variable;
  expAvgSq?: tf.Variable;
}

/** Thrown when an optimizer state does not fit the parameters (names every problem). */
export class OptimizerStateError extends Error {
  override readonly name = 'OptimizerStateError';
}

/**
 * AdamW as in PyTorch (`torch.optim.AdamW`): decoupled weight decay p ← p·(1 − lr·wd), then Adam with
 * bias correction: p ← p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε).
 */
export class AdamW {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of steps taken (PyTorch's `step`, t in the bias correction). */
  stepCount = 0;
  private readonly slots: Slot[];
  private readonly byKey = new Map<string, Slot>();

  constructor(params: Module | [string, Parameter][], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const named = Array.isArray(params) ? params : params.namedParameters();
    this.slots = named
      .filter(([, p]) => p.trainable)
      .map(([name, param]) => ({ name, param, decay: opts.decay?.(name) ?? true }));
    for (const s of this.slots) {
      this.byKey.set(s.name, s);
      this.byKey.set(s.param.variable.name, s);
    }
  }

  /** The variables this optimizer updates, for tf.variableGrads. */
  variables(): tf.Variable[] {
    return this.slots.map((s) => s.param.variable);
  }

  /** One update. Parameters without a gradient are left alone. The gradients are not disposed. */
  step(grads: Grads): void {
    const entries = grads instanceof Map ? [...grads] : Object.entries(grads);
    for (const [key] of entries)
      if (!this.byKey.has(key)) throw new OptimizerStateError(`gradient for unknown parameter "${key}"`);
    this.stepCount++;
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    const stepSize = this.lr / (1 - b1 ** t);
    const sqrtBc2 = Math.sqrt(1 - b2 ** t);
    for (const [key, g] of entries) {
      const s = this.byKey.get(key)!;
      const p = s.param.variable;
      s.expAvg ??= slot(tf.zerosLike(p));
      s.expAvgSq ??= slot(tf.zerosLike(p));
      const [m, v] = [s.expAvg, s.expAvgSq];
      // Each temporary is freed as soon as it is consumed: a tidy alone would hold all ~14 of them until
      // the parameter is done, 14 × the largest parameter (MiniLM's word embeddings: 660 MB) at the peak,
      // and the wasm heap never gives that back. assign() takes the new tensor's data without a copy.
      tf.tidy(() => {
        const m1 = lin(m, b1, tf.mul(g, 1 - b1), 1);
        m.assign(m1);
        m1.dispose();
        const v1 = lin(
          v,
          b2,
          chain(tf.square(g), (r) => tf.mul(r, 1 - b2)),
          1,
        );
        v.assign(v1);
        v1.dispose();
        const denom = chain(
          tf.sqrt(v),
          (r) => tf.div(r, sqrtBc2),
          (r) => tf.add(r, this.eps),
        );
        const update = chain(tf.div(m, denom), (r) => tf.mul(r, stepSize));
        denom.dispose();
        const decayed = s.decay && this.weightDecay ? tf.mul(p, 1 - this.lr * this.weightDecay) : p;
        const next = tf.sub(decayed, update);
        if (decayed !== p) decayed.dispose();
        update.dispose();
        p.assign(next);
      });
    }
  }

  /**
   * Moments and step count for resuming: `{name}.exp_avg`, `{name}.exp_avg_sq` (HF parameter names)
   * and `step` (int32 scalar). Save it with writeSafetensors; the caller disposes the tensors.
   */
  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>([['step', tf.scalar(this.stepCount, 'int32')]]);
    for (const s of this.slots) {
      if (s.expAvg) out.set(`${s.name}.exp_avg`, s.expAvg.clone());
      if (s.expAvgSq) out.set(`${s.name}.exp_avg_sq`, s.expAvgSq.clone());
    }
    return out;
  }

  /** Restores a stateDict() (async: reading `step` must work on GPU backends). Inputs are not disposed. */
  async loadStateDict(state: Map<string, tf.Tensor>): Promise<void> {
    const step = state.get('step');
    if (step?.size !== 1) throw new OptimizerStateError('optimizer state has no scalar "step"');
    const problems: string[] = [];
    const known = new Set(['step']);
    for (const s of this.slots)
      for (const suffix of ['exp_avg', 'exp_avg_sq']) {
        const key = `${s.name}.${suffix}`;
        known.add(key);
        const t = state.get(key);
        if (t && !sameShape(t.shape, s.param.shape))
          problems.push(`${key}: shape [${t.shape}] does not match the parameter's [${s.param.shape}]`);
      }
    for (const key of state.keys()) if (!known.has(key)) problems.push(`unexpected entry ${key}`);
    if (problems.length)
      throw new OptimizerStateError(`optimizer state does not fit:\n  ${problems.join('\n  ')}`);
    this.stepCount = (await step.data())[0]!;
    for (const s of this.slots) {
      const [m, v] = [state.get(`${s.name}.exp_avg`), state.get(`${s.name}.exp_avg_sq`)];
      s.expAvg?.dispose();
      s.expAvgSq?.dispose();
      s.expAvg = m && slot(tf.cast(m, 'float32'));
      s.expAvgSq = v && slot(tf.cast(v, 'float32'));
    }
  }

  dispose(): void {
    for (const s of this.slots) {
      s.expAvg?.dispose();
      s.expAvgSq?.dispose();
      s.expAvg = s.expAvgSq = undefined;
    }
  }
}

/**
 * a·x + b·y, freeing as it goes (and y, which it owns); b = 1 when y comes already scaled, which keeps the
 * square of the gradient from living beside three other temporaries.
 */
function lin(x: tf.Tensor, a: number, y: tf.Tensor, b: number): tf.Tensor {
  const by = b === 1 ? y : tf.mul(y, b);
  if (by !== y) y.dispose();
  const ax = tf.mul(x, a);
  const out = tf.add(ax, by);
  ax.dispose();
  by.dispose();
  return out;
}

/** Applies `fs` in turn, disposing each intermediate once the next is computed. */
function chain(t: tf.Tensor, ...fs: ((t: tf.Tensor) => tf.Tensor)[]): tf.Tensor {
  let cur = t;
  for (const f of fs) {
    const next = f(cur);
    cur.dispose();
    cur = next;
  }
  return cur;
}

/** A non-trainable variable that owns `t`'s data (tf.variable keeps its own reference, so drop ours). */
function slot(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

function sameShape(a: readonly number[], b: readonly number[]) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
