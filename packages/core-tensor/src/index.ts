/** The one tfjs-core instance of the workspace: every attn package imports tf from here. */
export * as tf from '@tensorflow/tfjs-core';

export type { BackendInfo, BackendName, BackendOptions, BackendPreference } from './backend/index.js';
export {
  BackendNotInitializedError,
  BackendUnavailableError,
  checkBackend,
  initBackend,
  registerWasmTrainingKernels,
  SOFTWARE_ADAPTER,
  WASM_FORWARDED_KERNELS,
} from './backend/index.js';
export * from './config/index.js';
export { registerGradients } from './gradients.js';
export * from './hub/index.js';
export type { FileData } from './io/atomic-write.js';
export { atomicWriteFile, removeStaleTemps, syncDir, tempName } from './io/atomic-write.js';
export type { Initializer, LoadStateDictResult, ParameterLayout } from './module.js';
export { Module, Parameter, StateDictError, withDeferredInit } from './module.js';
export { gatherRows } from './nn/gather-rows.js';
export { initNormal, setSeed } from './nn/init.js';
export type { LinearOnnxOptions, LinearOptions } from './nn/layers.js';
export { Dropout, dropoutKeepingMask, Embedding, LayerNorm, Linear, layerNorm } from './nn/layers.js';
export type { CrossEntropyOptions } from './nn/losses.js';
export { crossEntropy, IGNORE_INDEX } from './nn/losses.js';
export * from './optim/index.js';
export * from './pipeline/index.js';
export { NodeOnlyError } from './platform/errors.js';
export { Random } from './random.js';
export * from './safetensors/index.js';
