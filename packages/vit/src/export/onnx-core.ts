// The ONNX graph builder lives in @attn/core-tensor (src/onnx), exported as @attn/core-tensor/onnx (Node-only: it writes files).
export * from '@attn/core-tensor/onnx';
