// The one training loop lives in core-tensor (ViT and the CLI use it too); kept here under @attn/bert's names.
export type { EpochReport, TrainOptions, TrainProgress } from '@attn/core-tensor';
export { latestCheckpoint, train } from '@attn/core-tensor';
export type { BertModelOutput, BertOnnxInputs, ForwardOptions } from './bert-model.js';
export { BertModel } from './bert-model.js';
export type { LoadingInfo, LoadOptions } from './checkpoint.js';
export type { ClassificationOutput, QuestionAnsweringOutput } from './classification.js';
export {
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
} from './classification.js';
export type { BertConfig, BertConfigInput } from './config.js';
export {
  BertConfigError,
  bertConfig,
  bertConfigToJSON,
  numLabels,
  parseBertConfig,
  readBertConfig,
} from './config.js';
export type {
  EncodedPair,
  MaskingOptions,
  NspOptions,
  NspPair,
  PretrainingBatch,
  PretrainingBatchOptions,
  SpecialTokenIds,
} from './data/pretraining-data.js';
export { encodePair, makeNspPairs, maskTokens, pretrainingBatches } from './data/pretraining-data.js';
export { Random } from './data/random.js';
export { BertEmbeddings } from './embeddings.js';
export { BertInputError } from './errors.js';
export type { BertOnnxOptions, BertOnnxTask, ExportableBert, OnnxExportResult } from './export/onnx.js';
export { buildBertOnnx, encodeBertOnnx, exportOnnx } from './export/onnx.js';
export type { BertOnnxOutputs } from './export/onnx-runtime.js';
export { BertOnnxRuntime } from './export/onnx-runtime.js';
export type { BertTokenizerJsonOptions, TransformersJsFolderOptions } from './export/transformers-js.js';
export {
  bertTokenizerJson,
  exportTransformersJsFolder,
  ONNX_FILE_OF_DTYPE,
} from './export/transformers-js.js';
export { BertLMPredictionHead, BertPooler, BertPredictionHeadTransform } from './heads.js';
export type { BertInputs, IntMatrix } from './inputs.js';
export type { LengthBatchingOptions } from './length-batching.js';
export { batchByLength, DEFAULT_SORT_WINDOW, lengthSortedBatches } from './length-batching.js';
export { crossEntropy, IGNORE_INDEX } from './losses.js';
export type {
  FeatureExtractionPool,
  FeatureExtractionPoolOptions,
} from './parallel/feature-extraction-pool.js';
export { createFeatureExtractionPool } from './parallel/feature-extraction-pool.js';
export type {
  ClassificationResult,
  FeatureExtractionOptions,
  FillMaskOptions,
  FillMaskPrediction,
  FillMaskResult,
  PipelineOptions,
  PipelineTask,
  TextClassificationOptions,
} from './pipelines.js';
export {
  FeatureExtractionPipeline,
  FillMaskPipeline,
  pipeline,
  TextClassificationPipeline,
} from './pipelines.js';
export { BertPreTrainedModel } from './pretrained.js';
export type { PreTrainingInputs, PreTrainingOutput, TaskForwardOptions } from './pretraining.js';
export { BertForMaskedLM, BertForNextSentencePrediction, BertForPreTraining } from './pretraining.js';
export type { Pooling, SentenceTransformersConfig } from './sentence-transformers.js';
export { readSentenceTransformersConfig } from './sentence-transformers.js';
export type { DocumentStreamer, VectorRecord, VectorSink } from './sinks.js';
export { formatVector, JsonlSink, streamInto } from './sinks.js';
