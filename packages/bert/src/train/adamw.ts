import { type Parameter, tf } from '@attn/core-tensor';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter), applied only to the parameters listed as decayed. */
  weightDecay?: number;
}

/**
 * AdamW exactly as `torch.optim.AdamW`: p ← p·(1 − lr·λ), then p ← p − lr·m̂/(√v̂ + ε) with bias-corrected
 * moments. Moments are tf.Variables keyed by parameter name, so they can be saved and restored.
 */
export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;
  private readonly beta1;
  private readonly beta2;
  private readonly eps;
  private readonly weightDecay;

  constructor(
    private readonly params: [string, Parameter][],
    private readonly decayed: Set<string>,
    opts: AdamWOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    for (const [name, p] of params) {
      // tidy disposes the zeros once copied into the (untracked) variables
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p.value), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p.value), false)));
    }
  }

  /** One update with learning rate `lr`; `grads` are keyed by parameter name and not disposed. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      tf.tidy(() => {
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        let w: tf.Tensor = p.value;
        if (this.weightDecay > 0 && this.decayed.has(name)) w = tf.mul(w, 1 - lr * this.weightDecay);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        p.value.assign(tf.sub(w, tf.mul(update, lr)));
      });
    }
  }

  /** Moments as `m.<name>` / `v.<name>` tensors (the caller disposes them) for checkpoints. */
  state(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, t] of this.m) out.set(`m.${name}`, tf.clone(t));
    for (const [name, t] of this.v) out.set(`v.${name}`, tf.clone(t));
    return out;
  }

  loadState(state: Map<string, tf.Tensor>, step: number): void {
    for (const [name, t] of this.m) if (state.has(`m.${name}`)) t.assign(state.get(`m.${name}`)!);
    for (const [name, t] of this.v) if (state.has(`v.${name}`)) t.assign(state.get(`v.${name}`)!);
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** Linear warm-up from 0 to 1 over `warmup` steps, then linear decay to 0 at `total` (HF `get_linear_schedule_with_warmup`). */
export function linearWarmupDecay(step: number, total: number, warmup: number): number {
  if (step < warmup) return (step + 1) / warmup;
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}

/** Scales all gradients by min(1, maxNorm / ‖g‖₂) over their concatenation; returns the norm before clipping. */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
  const value = norm.dataSync()[0]!;
  norm.dispose();
  if (value > maxNorm)
    for (const [name, g] of grads) {
      grads.set(name, tf.mul(g, maxNorm / (value + 1e-6)));
      g.dispose();
    }
  return value;
}
