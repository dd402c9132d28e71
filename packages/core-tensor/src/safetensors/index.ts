export type { SafetensorsDtype } from './dtypes.js';
export type { SafetensorsErrorCode } from './errors.js';
export { SafetensorsError } from './errors.js';
export { isQ8Weight } from './q8.js';
export type { ReadSafetensorsOptions, SafetensorsInfo, TensorData } from './read.js';
export {
  loadSafetensors,
  loadSafetensorsShards,
  readSafetensors,
  readSafetensorsInfo,
} from './read.js';
export type { SafetensorsInput } from './source.js';
export type { WriteSafetensorsOptions } from './write.js';
export { encodeSafetensors, serializeSafetensors, storedBytes, writeSafetensors } from './write.js';
