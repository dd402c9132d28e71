/**
 * The ONNX exporters and the worker pool, reached by source path until the packages' index.ts re-export them
 * (then: `export { exportOnnx as exportBertOnnx } from '@attn/bert'`, etc.). Run under tsx with the
 * `@attn/source` condition (see package.json), so the bench always measures the current sources.
 */

export { exportOnnx as exportBertOnnx } from '../../packages/bert/src/export/onnx.js';
export { createFeatureExtractionPool } from '../../packages/bert/src/parallel/feature-extraction-pool.js';
export { OnnxGraph, writeOnnxFile } from '../../packages/core-tensor/src/onnx/index.js';
export { exportOnnx as exportViTOnnx } from '../../packages/vit/src/export/onnx.js';
