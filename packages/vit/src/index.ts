// The schedules live in core-tensor's one module; kept here under the name @attn/vit documented.
export { warmupCosine } from '@attn/core-tensor';
export type { ViTConfigFields } from './config.js';
export { ViTConfig, ViTConfigError } from './config.js';
export { PatchEmbeddings, ViTEmbeddings, ViTInputError } from './embeddings.js';
export type { HeatmapOptions } from './explain/heatmap.js';
export { heatmapColour, heatmapOverlay, renderAttentionHeatmap } from './explain/heatmap.js';
export type { PatchMap, RolloutOptions } from './explain/rollout.js';
export { attentionRollout, clsAttentionMap } from './explain/rollout.js';
export type { ExportableViT, ViTOnnxOptions, ViTOnnxTask } from './export/onnx.js';
export { buildViTOnnx, encodeViTOnnx, exportOnnx } from './export/onnx.js';
export { ViTOnnxRuntime } from './export/onnx-runtime.js';
export type { DecodeOptions } from './image/decode.js';
export {
  DEFAULT_MAX_DECODE_BYTES,
  DEFAULT_MAX_PIXELS,
  decodeCostBytes,
  decodeImage,
} from './image/decode.js';
export type { ImageInputErrorCode } from './image/errors.js';
export { ImageInputError } from './image/errors.js';
export type { PilResampleId, RawImage } from './image/resample.js';
export { PilResample, pilResize } from './image/resample.js';
export type { RgbaLike } from './image/rgb.js';
export { cmykToRgb, rgbaLikeToRgb, toRgb } from './image/rgb.js';
export type { ViTClassifierOutput, ViTForwardOptions, ViTModelOutput } from './model.js';
export { ViTForImageClassification, ViTModel } from './model.js';
export type { ImageClassification, ImageClassificationOptions, PipelineRuntimeOptions } from './pipeline.js';
export { ImageClassificationPipeline, pipeline } from './pipeline.js';
export type { ImageInput, ImageProcessorConfig } from './processor.js';
export { ImageProcessorConfigError, ViTImageProcessor } from './processor.js';
export { randomTranslate } from './train/augment.js';
export { trainingCurvesSvg, writeTrainingCurves } from './train/curves.js';
export { fineTuneImageClassifier, withNewLabels } from './train/finetune.js';
export type { AugmentFn, EpochStats, ImageDataset, StepProgress, TrainOptions } from './train/train.js';
export { evaluateAccuracy, mulberry32, trainImageClassifier } from './train/train.js';
