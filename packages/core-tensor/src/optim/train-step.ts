import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../module.js';
import type { GradientAccumulator } from './accumulate.js';
import type { AdamW, Grads } from './adamw.js';
import { clipByGlobalNorm } from './clip.js';
import { variableGradsFreeing } from './grads.js';

export interface TrainStepOptions {
  /** Clip the gradients to this global L2 norm before the update. */
  clipNorm?: number;
  /** Accumulate micro-batches: the optimizer steps only when the accumulator is full. */
  accumulator?: GradientAccumulator;
  /** Step on what the accumulator holds even when it is not full (an epoch's last micro-batches). */
  flush?: boolean;
}

export interface TrainStepResult {
  loss: number;
  /** Whether the optimizer updated the weights (false while accumulating). */
  stepped: boolean;
  /** Global gradient norm before clipping, when clipNorm is set and the optimizer stepped. */
  gradNorm?: number;
}

/**
 * One training step: loss and gradients of the module's trainable parameters (variableGradsFreeing), optional
 * accumulation and clipping, the optimizer update. Every tensor it creates is disposed; `lossFn` must
 * return a scalar and may create tensors freely (they are tidied). The module should be in train mode.
 */
export async function trainStep(
  module: Module,
  lossFn: () => tf.Scalar,
  optimizer: AdamW,
  opts: TrainStepOptions = {},
): Promise<TrainStepResult> {
  const { value, grads } = variableGradsFreeing(
    lossFn,
    module
      .parameters()
      .filter((p) => p.trainable)
      .map((p) => p.variable),
  );
  // Everything created here is disposed in `finally`, also when the optimizer throws.
  const owned: tf.Tensor[] = [value, ...Object.values(grads)];
  const values = (g: Grads) => (g instanceof Map ? [...g.values()] : Object.values(g));
  try {
    let update: Grads = grads;
    if (opts.accumulator) {
      opts.accumulator.add(grads);
      if (!opts.accumulator.ready && !opts.flush) return { loss: (await value.data())[0]!, stepped: false };
      update = opts.accumulator.take();
      owned.push(...values(update));
    }
    let norm: tf.Scalar | undefined;
    if (opts.clipNorm !== undefined) {
      const clipped = clipByGlobalNorm(update, opts.clipNorm);
      update = clipped.grads;
      norm = clipped.norm;
      owned.push(norm, ...values(update));
    }
    optimizer.step(update);
    const [loss, gradNorm] = await Promise.all([value.data(), norm?.data()]);
    return gradNorm
      ? { loss: loss[0]!, stepped: true, gradNorm: gradNorm[0]! }
      : { loss: loss[0]!, stepped: true };
  } finally {
    tf.dispose(owned);
  }
}
