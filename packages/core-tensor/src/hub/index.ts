export type { DownloadProgress } from './download.js';
export type { PretrainedErrorCode } from './errors.js';
export { PretrainedError } from './errors.js';
export type {
  CheckpointLayout,
  LoadingInfo,
  PretrainedModelOptions,
  PretrainedModelSpec,
  SaveOptions,
} from './lifecycle.js';
export { loadPretrainedModel, savePretrainedModel, toModelNames } from './lifecycle.js';
export type { Pretrained } from './pretrained.js';
export { loadPretrained, readPretrainedFolder } from './pretrained.js';
export type { HubOptions } from './resolve.js';
export { hubUrl, OPTIONAL_FILES, resolvePretrainedDir } from './resolve.js';
