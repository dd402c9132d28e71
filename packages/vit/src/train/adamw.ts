import { type Parameter, tf } from '@attn/core-tensor';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter), applied to matrices only — not to biases, LayerNorm or tokens. */
  weightDecay?: number;
}

/** AdamW over a model's Parameters; the learning rate is given per step so any schedule can drive it. */
export class AdamW {
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private readonly o: Required<AdamWOptions>;

  constructor(
    readonly params: Parameter[],
    opts: AdamWOptions = {},
  ) {
    this.o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...opts };
    // tidy frees the zeros; the variables themselves survive it.
    this.m = tf.tidy(() => params.map((p) => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = tf.tidy(() => params.map((p) => tf.variable(tf.zerosLike(p.variable), false)));
  }

  /** grads[i] belongs to params[i]; the gradients are not disposed. */
  step(grads: tf.Tensor[], lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.o;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        const decay = p.variable.rank >= 2 && weightDecay > 0 ? tf.mul(p.variable, weightDecay) : undefined;
        p.variable.assign(tf.sub(p.variable, tf.mul(decay ? tf.add(update, decay) : update, lr)));
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** Linear warm-up to `peak`, then cosine decay to `peak · finalFraction` at `total` steps. */
export function warmupCosine(
  step: number,
  total: number,
  peak: number,
  warmup: number,
  finalFraction = 0.02,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
