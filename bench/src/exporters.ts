/** The ONNX exporters and the worker pool that the bench drives, from the packages' entries. */
export { createFeatureExtractionPool, exportOnnx as exportBertOnnx } from '@attn/bert';
export { NativeTrainStep, OnnxGraph, writeOnnxFile } from '@attn/core-tensor/onnx';
export { exportOnnx as exportViTOnnx } from '@attn/vit';
