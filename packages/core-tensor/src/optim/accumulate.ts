import * as tf from '@tensorflow/tfjs-core';
import type { Grads } from './adamw.js';

/**
 * Sums gradients over `steps` micro-batches and hands back their mean, so a large batch can be
 * trained in pieces: the mean of equal-sized micro-batch gradients is the gradient of the mean loss.
 */
export class GradientAccumulator {
  private sums = new Map<string, tf.Tensor>();
  count = 0;

  constructor(readonly steps: number) {
    if (!Number.isInteger(steps) || steps < 1)
      throw new RangeError(`accumulation steps must be ≥ 1, got ${steps}`);
  }

  /** Adds one micro-batch's gradients (not disposed: the caller still owns them). */
  add(grads: Grads): void {
    for (const [k, g] of grads instanceof Map ? grads : Object.entries(grads)) {
      const prev = this.sums.get(k);
      this.sums.set(k, prev ? tf.add(prev, g) : g.clone());
      prev?.dispose();
    }
    this.count++;
  }

  get ready(): boolean {
    return this.count >= this.steps;
  }

  /** The mean gradients so far (the caller disposes them), and a fresh start. */
  take(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, sum] of this.sums) {
      out.set(k, tf.div(sum, this.count));
      sum.dispose();
    }
    this.sums.clear();
    this.count = 0;
    return out;
  }

  dispose(): void {
    tf.dispose([...this.sums.values()]);
    this.sums.clear();
    this.count = 0;
  }
}
