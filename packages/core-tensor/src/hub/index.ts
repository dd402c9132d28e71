export type { DownloadProgress } from './download.js';
export type { PretrainedErrorCode } from './errors.js';
export { PretrainedError } from './errors.js';
export type { FetchModelOptions } from './fetch.js';
export { cachedFetch, fetchModelFile, MODEL_CACHE } from './fetch.js';
export type {
  CheckpointLayout,
  LoadingInfo,
  PretrainedModelOptions,
  PretrainedModelSpec,
  SaveOptions,
} from './lifecycle.js';
export { loadPretrainedModel, savePretrainedModel, toModelNames } from './lifecycle.js';
export type { Pretrained } from './pretrained.js';
export { loadPretrained, readModelText, readPretrainedFolder } from './pretrained.js';
export type { HubOptions, WeightFiles } from './resolve.js';
export {
  hubUrl,
  isModelUrl,
  modelFileUrl,
  modelFolderUrl,
  OPTIONAL_FILES,
  resolvePretrainedDir,
  weightCandidates,
  weightFiles,
} from './resolve.js';
