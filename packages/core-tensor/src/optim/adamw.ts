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
      tf.tidy(() => {
        const decayed = s.decay && this.weightDecay ? tf.mul(p, 1 - this.lr * this.weightDecay) : p;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), this.eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
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

/** A non-trainable variable that owns `t`'s data (tf.variable keeps its own reference, so drop ours). */
function slot(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

function sameShape(a: readonly number[], b: readonly number[]) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
