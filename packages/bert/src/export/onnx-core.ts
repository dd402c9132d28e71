// The ONNX graph builder lives in @attn/core-tensor (src/onnx). Until core-tensor's index re-exports it,
// it is reached by path; then this file becomes `export * from '@attn/core-tensor'` (or is removed).
export * from '../../../core-tensor/src/onnx/index.js';
