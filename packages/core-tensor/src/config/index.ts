export type {
  ConfigErrorClass,
  ConfigOptions,
  ConfigSchema,
  FieldSpec,
  Labels,
  ParsedConfig,
} from './config.js';
export {
  ConfigError,
  DEFAULT_MAX_MODEL_BYTES,
  describe as describeConfigValue,
  encoderLayerParameters,
  labelNames,
  MAX_LABELS,
  ModelTooLargeError,
  maxModelBytes,
  numLabels,
  parseConfig,
  parseFields,
  withConfigOverrides,
} from './config.js';
