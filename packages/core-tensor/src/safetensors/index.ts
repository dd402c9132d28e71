export type { SafetensorsDtype } from './dtypes.js';
export type { SafetensorsErrorCode } from './errors.js';
export { SafetensorsError } from './errors.js';
export type { SafetensorsInfo, TensorData } from './read.js';
export { loadSafetensors, readSafetensors, readSafetensorsInfo } from './read.js';
export type { SafetensorsInput } from './source.js';
export type { WriteSafetensorsOptions } from './write.js';
export { encodeSafetensors, serializeSafetensors, writeSafetensors } from './write.js';
