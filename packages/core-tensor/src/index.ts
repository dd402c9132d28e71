/** The one tfjs-core instance of the workspace: every attn package imports tf from here. */
export * as tf from '@tensorflow/tfjs-core';
export { Module, Parameter, StateDictError } from './module.js';
export type { LoadStateDictResult, ParameterLayout } from './module.js';
export { Linear, LayerNorm, Embedding, Dropout, gelu } from './nn/layers.js';
export type { LinearOptions } from './nn/layers.js';
export { initNormal, setSeed } from './nn/init.js';
export { initBackend, BackendUnavailableError } from './backend.js';
export type { BackendInfo, BackendName, BackendPreference } from './backend.js';
