export type { EncodeOptions, OnnxAttr, OnnxDim, OnnxDType } from './graph.js';
export { ONNX_DTYPE, OnnxGraph, OnnxGraphError, onnxFloat, onnxFloats } from './graph.js';
export type { SelfAttentionNames } from './layers.js';
export {
  configField,
  FLOAT32_MIN,
  OnnxWeights,
  onnxActivation,
  onnxFirstToken,
  onnxLayerNorm,
  onnxLinear,
  onnxPaddingMask,
  onnxSelfAttention,
} from './layers.js';
export { encodeVarint, ProtoWriter } from './protobuf.js';
export type { OnnxSessionOptions } from './session.js';
export { OnnxRuntimeUnavailableError, OnnxSession } from './session.js';
export type { OnnxExportResult } from './write.js';
export { writeOnnxFile } from './write.js';
