import { activation, type HiddenAct } from './activations.js';
import { AttentionConfigError } from './errors.js';

/** Plain-data configuration of an encoder or decoder layer, with Hugging Face's meanings. */
export interface TransformerLayerConfig {
  hiddenSize: number;
  numHeads: number;
  /** Width of the position-wise feed-forward network (HF `intermediate_size`, the paper's d_ff). */
  intermediateSize: number;
  /** Default 'gelu' (exact erf form). */
  hiddenAct?: HiddenAct;
  /** Default 1e-12, as BERT and ViT. */
  layerNormEps?: number;
  /** Dropout on each sub-layer's output before the residual add (HF `hidden_dropout_prob`). Default 0. */
  hiddenDropout?: number;
  /** Dropout on the attention probabilities. Default 0. */
  attentionDropout?: number;
  /** Biases on Q, K, V. Default true. */
  qkvBias?: boolean;
  /** Weight-initialisation std (HF `initializer_range`). Default 0.02. */
  std?: number;
  /**
   * Where LayerNorm sits. 'post': x = LN(x + sublayer(x)), as the original paper and BERT.
   * 'pre': x = x + sublayer(LN(x)), as ViT and GPT-2. Default: 'post' for naming 'bert', 'pre' for 'vit'.
   */
  norm?: 'post' | 'pre';
  /** Which Hugging Face state-dict names to use. Default 'bert'. */
  naming?: 'bert' | 'vit';
}

export type ResolvedLayerConfig = Required<TransformerLayerConfig>;

export function resolveLayerConfig(c: TransformerLayerConfig): ResolvedLayerConfig {
  for (const field of ['hiddenSize', 'numHeads', 'intermediateSize'] as const)
    if (!Number.isInteger(c[field]) || c[field] < 1)
      throw new AttentionConfigError(`${field}: expected a positive integer, got ${c[field]}`);
  const naming = c.naming ?? 'bert';
  if (naming !== 'bert' && naming !== 'vit')
    throw new AttentionConfigError(`naming: expected 'bert' or 'vit', got "${naming}"`);
  const hiddenAct = c.hiddenAct ?? 'gelu';
  activation(hiddenAct); // throws on an unknown name now rather than at the first forward
  const norm = c.norm ?? (naming === 'vit' ? 'pre' : 'post');
  if (norm !== 'post' && norm !== 'pre')
    throw new AttentionConfigError(`norm: expected 'post' or 'pre', got "${norm}"`);
  return {
    hiddenSize: c.hiddenSize,
    numHeads: c.numHeads,
    intermediateSize: c.intermediateSize,
    hiddenAct,
    layerNormEps: c.layerNormEps ?? 1e-12,
    hiddenDropout: c.hiddenDropout ?? 0,
    attentionDropout: c.attentionDropout ?? 0,
    qkvBias: c.qkvBias ?? true,
    std: c.std ?? 0.02,
    norm,
    naming,
  };
}
