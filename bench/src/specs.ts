import { encoderFlops, vitFlops } from './flops.js';

/** A model shape to benchmark, built with seeded random weights (no download). */
export interface ModelSpec {
  name: string;
  kind: 'bert' | 'vit';
  /** HF config.json fields. */
  config: Record<string, unknown>;
  /** Batch sizes measured by default; `quick` keeps the first only. */
  batches: number[];
  /** Sequence length (BERT). */
  seq?: number;
  /** Also run tfjs-backend-cpu (≈30× slower than wasm: only the small models). */
  cpu: boolean;
  /** FLOPs of one item (sequence or image). */
  flopsPerItem: number;
  /** Parameter count estimate is read from the saved file; this is just the display label. */
  label: string;
}

const bert = (
  name: string,
  label: string,
  layers: number,
  hidden: number,
  heads: number,
  batches: number[],
  cpu: boolean,
): ModelSpec => ({
  name,
  kind: 'bert',
  label,
  config: {
    model_type: 'bert',
    vocab_size: 30522,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: 4 * hidden,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    initializer_range: 0.02,
  },
  batches,
  seq: 128,
  cpu,
  flopsPerItem: encoderFlops({ layers, hidden, intermediate: 4 * hidden }, 128),
});

const vit = (
  name: string,
  label: string,
  layers: number,
  hidden: number,
  heads: number,
  batches: number[],
  cpu: boolean,
): ModelSpec => ({
  name,
  kind: 'vit',
  label,
  config: {
    model_type: 'vit',
    image_size: 224,
    patch_size: 16,
    num_channels: 3,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: 4 * hidden,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    qkv_bias: true,
    initializer_range: 0.02,
    num_labels: 1000,
  },
  batches,
  cpu,
  flopsPerItem: vitFlops({
    layers,
    hidden,
    intermediate: 4 * hidden,
    imageSize: 224,
    patch: 16,
    labels: 1000,
  }),
});

export const MODELS: ModelSpec[] = [
  bert('bert-base', 'BERT-base (12L, 768H, 12 heads, seq 128)', 12, 768, 12, [1, 32], false),
  bert('minilm', 'MiniLM-shaped (6L, 384H, 12 heads, seq 128)', 6, 384, 12, [1, 32], true),
  vit('vit-base', 'ViT-base/16 (224 px)', 12, 768, 12, [1, 16], false),
  vit('vit-tiny', 'ViT-Tiny/16 (224 px)', 12, 192, 3, [1, 16], true),
];

export const SEED = 1234;
