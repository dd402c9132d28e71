export type { HiddenAct } from './activations.js';
export { activation, activationOnnx, gelu, geluNew } from './activations.js';
export { formatAttentionMap } from './attention-map.js';
export type { DecoderOutput } from './decoder.js';
export { TransformerDecoder } from './decoder.js';
export type { DecoderLayerOutput } from './decoder-layer.js';
export { TransformerDecoderLayer } from './decoder-layer.js';
export type { EncoderOutput } from './encoder.js';
export { TransformerEncoder } from './encoder.js';
export type { EncoderLayerOutput } from './encoder-layer.js';
export { TransformerEncoderLayer } from './encoder-layer.js';
export { AttentionConfigError, AttentionShapeError } from './errors.js';
export { Group } from './group.js';
export { interpolatePositionEmbeddings } from './interpolate.js';
export type { TransformerLayerConfig } from './layer-config.js';
export { causalMask, combineMasks, MASKED, paddingMask, paddingMaskOnnx } from './masks.js';
export type { MultiHeadAttentionConfig, MultiHeadAttentionOutput } from './multi-head-attention.js';
export { MultiHeadAttention } from './multi-head-attention.js';
export { firstToken, firstTokenOnnx, Pooler } from './pooler.js';
export { LearnedPositionalEmbedding, sinusoidalPositionalEncoding } from './positional.js';
export type { AttentionOptions, AttentionResult } from './scaled-dot-product.js';
export {
  scaledDotProductAttention,
  scaledDotProductAttentionOnnx,
  scaledMaskedSoftmax,
} from './scaled-dot-product.js';
export type { BeamOptions, Hypothesis, SearchOptions, StepFn } from './search.js';
export { beamSearch, greedySearch } from './search.js';
export { ScaledTokenEmbedding } from './token-embedding.js';
export type { TransformerConfig } from './transformer.js';
export { Transformer } from './transformer.js';
export type {
  Neighbour,
  TrainCallbacks,
  Word2VecEngine,
  Word2VecMode,
  Word2VecOptions,
  Word2VecProgress,
} from './word2vec.js';
export { Word2Vec, Word2VecError } from './word2vec.js';
