export { GradientAccumulator } from './accumulate.js';
export type { AdamWOptions, Grads } from './adamw.js';
export { AdamW, noDecayForBiasAndNorm, OptimizerStateError } from './adamw.js';
export { clipByGlobalNorm } from './clip.js';
export type { LinearWarmupDecayOptions } from './schedule.js';
export { linearWarmupDecay } from './schedule.js';
export type { TrainStepOptions, TrainStepResult } from './train-step.js';
export { trainStep } from './train-step.js';
