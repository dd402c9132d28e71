export type { OnnxValueInfo } from './autodiff.js';
export { appendGradients, inferShapes } from './autodiff.js';
export type {
  EncodeOptions,
  OnnxAttr,
  OnnxDim,
  OnnxDType,
  OnnxInitDef,
  OnnxNodeDef,
  OnnxValueDef,
} from './graph.js';
export { ONNX_DTYPE, OnnxGraph, OnnxGraphError, onnxFloat, onnxFloats } from './graph.js';
export type { OnnxOutput } from './module-graph.js';
export { OnnxModuleGraph, type OnnxModuleGraphOptions } from './module-graph.js';
export type { NativeTrainStepOptions, NativeTrainStepResult } from './native-train-step.js';
export { NativeTrainStep } from './native-train-step.js';
export { encodeVarint, ProtoWriter } from './protobuf.js';
export type { Q8Tensor, WeightDType } from './quantize.js';
export { dequantizeQ8, quantizeQ8, transposeInt8, WEIGHT_DTYPES } from './quantize.js';
export type { OnnxSessionOptions } from './session.js';
export { OnnxRuntimeUnavailableError, OnnxSession } from './session.js';
export type { HostTensor } from './weights.js';
export { OnnxWeights } from './weights.js';
export type { OnnxExportResult } from './write.js';
export { OnnxWriteError, writeOnnxFile } from './write.js';
