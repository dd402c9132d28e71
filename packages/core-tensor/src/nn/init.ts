import * as tf from '@tensorflow/tfjs-core';

// One seeded stream for parameter initialisation, so `setSeed(n)` makes a model's weights reproducible.
let nextSeedValue = 42;

export function setSeed(seed: number): void {
  nextSeedValue = seed;
}

function nextSeed(): number {
  return nextSeedValue++;
}

/** N(0, std²) truncated at ±2·std, as Hugging Face's `_init_weights` uses `normal_(0, initializer_range)`. */
export function initNormal(shape: number[], std: number): tf.Tensor {
  return tf.truncatedNormal(shape, 0, std, 'float32', nextSeed());
}
