export type { BackendName } from './errors.js';
export { BackendNotInitializedError, BackendUnavailableError, checkBackend } from './errors.js';
export type { BackendInfo, BackendOptions, BackendPreference } from './init.js';
export { initBackend, SOFTWARE_ADAPTER } from './init.js';
export { registerWasmTrainingKernels, WASM_FORWARDED_KERNELS } from './wasm-kernels.js';
