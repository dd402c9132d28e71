export type { Device, ResolvedDevice } from './device.js';
export {
  DEVICES,
  describeBackend,
  deviceOf,
  ensureBackend,
  mayHaveGpu,
  nativeAvailable,
  resolveDevice,
  runningDevice,
} from './device.js';
export type { PipelineErrorCode } from './errors.js';
export { MissingWeightsError, PipelineError } from './errors.js';
export type { DType, PipelineContext, PipelineOptions } from './pipeline.js';
export { checkHeadWeights, Pipeline, preparePipeline } from './pipeline.js';
export type { ProgressCallback, ProgressEvent } from './progress.js';
export { ProgressReporter } from './progress.js';
export { Tensor } from './tensor.js';
