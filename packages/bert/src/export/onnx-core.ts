// The ONNX graph builder lives in @attn/core-tensor (src/onnx).
export * from '@attn/core-tensor';
