import { type Parameter, tf } from '@attn/core-tensor';

/**
 * AdamW (decoupled weight decay on matrices), as the packages' trainers use it; kept here so the training
 * benchmark measures the same arithmetic without depending on a trainer's internals.
 */
export class AdamW {
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  constructor(
    private readonly params: Parameter[],
    private readonly weightDecay = 0.01,
  ) {
    this.m = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
    this.v = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
  }

  /** grads[i] belongs to params[i]; not disposed. */
  step(grads: tf.Tensor[], lr: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): void {
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(grads[i], 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(grads[i]), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        let update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (p.variable.rank >= 2) update = tf.add(update, tf.mul(p.variable, this.weightDecay));
        p.variable.assign(tf.sub(p.variable, tf.mul(update, lr)));
      });
    });
  }
}
