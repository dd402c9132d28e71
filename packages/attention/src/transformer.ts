import { crossEntropy, LayerNorm, Linear, Module, tf } from '@attn/core-tensor';
import type { HiddenAct } from './activations.js';
import { TransformerDecoder } from './decoder.js';
import { TransformerEncoder } from './encoder.js';
import { AttentionConfigError, AttentionShapeError } from './errors.js';
import type { TransformerLayerConfig } from './layer-config.js';
import { causalMask, combineMasks, paddingMask } from './masks.js';
import { sinusoidalPositionalEncoding } from './positional.js';
import { type BeamOptions, beamSearch, greedySearch, type Hypothesis } from './search.js';
import { ScaledTokenEmbedding } from './token-embedding.js';

/** The encoder-decoder Transformer of "Attention Is All You Need", as plain data. */
export interface TransformerConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  /** d_model */
  dModel: number;
  numHeads: number;
  /** d_ff, the feed-forward width. */
  dFF: number;
  numEncoderLayers: number;
  numDecoderLayers: number;
  /** Longest source or target sequence, BOS/EOS included (size of the positional table). */
  maxLen: number;
  padId: number;
  bosId: number;
  eosId: number;
  /** Residual and attention dropout. Default 0. */
  dropout?: number;
  /** Default 'relu', as the paper. */
  hiddenAct?: HiddenAct;
  /** Default 'post', as the paper; 'pre' adds a final LayerNorm after each stack. */
  norm?: 'post' | 'pre';
  /** Default 1e-5. */
  layerNormEps?: number;
  /** Init std of the linear layers. Default 0.02. */
  std?: number;
}

/**
 * Source tokens → (embedding·√d + sinusoidal positions) → encoder stack → memory;
 * shifted target tokens → (embedding·√d + positions) → decoder stack (causal self-attention, cross-attention
 * over memory) → linear `generator` → next-token logits.
 * Children: src_embed, tgt_embed, encoder (layer.N), decoder (layer.N), [encoder_norm, decoder_norm], generator.
 */
export class Transformer extends Module {
  readonly config: Required<TransformerConfig>;
  readonly srcEmbed: ScaledTokenEmbedding;
  readonly tgtEmbed: ScaledTokenEmbedding;
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;
  readonly encoderNorm?: LayerNorm;
  readonly decoderNorm?: LayerNorm;
  readonly generator: Linear;
  /** [maxLen, dModel], fixed (not a parameter). */
  private readonly positions: tf.Tensor2D;

  constructor(config: TransformerConfig) {
    super();
    const c: Required<TransformerConfig> = {
      dropout: 0,
      hiddenAct: 'relu',
      norm: 'post',
      layerNormEps: 1e-5,
      std: 0.02,
      ...config,
    };
    for (const f of [
      'srcVocabSize',
      'tgtVocabSize',
      'dModel',
      'maxLen',
      'numEncoderLayers',
      'numDecoderLayers',
    ] as const)
      if (!Number.isInteger(c[f]) || c[f] < 1)
        throw new AttentionConfigError(`${f}: expected a positive integer, got ${c[f]}`);
    this.config = c;
    const layer: TransformerLayerConfig = {
      hiddenSize: c.dModel,
      numHeads: c.numHeads,
      intermediateSize: c.dFF,
      hiddenAct: c.hiddenAct,
      layerNormEps: c.layerNormEps,
      hiddenDropout: c.dropout,
      attentionDropout: c.dropout,
      std: c.std,
      norm: c.norm,
      naming: 'bert',
    };
    this.srcEmbed = this.module('src_embed', new ScaledTokenEmbedding(c.srcVocabSize, c.dModel));
    this.tgtEmbed = this.module('tgt_embed', new ScaledTokenEmbedding(c.tgtVocabSize, c.dModel));
    this.encoder = this.module('encoder', new TransformerEncoder(layer, c.numEncoderLayers));
    this.decoder = this.module('decoder', new TransformerDecoder(layer, c.numDecoderLayers));
    if (c.norm === 'pre') {
      // Pre-LN stacks leave the residual stream un-normalised; one LayerNorm at the end fixes its scale.
      this.encoderNorm = this.module('encoder_norm', new LayerNorm(c.dModel, c.layerNormEps));
      this.decoderNorm = this.module('decoder_norm', new LayerNorm(c.dModel, c.layerNormEps));
    }
    this.generator = this.module('generator', new Linear(c.dModel, c.tgtVocabSize, { std: c.std }));
    this.positions = sinusoidalPositionalEncoding(c.maxLen, c.dModel);
  }

  /** srcIds: int32 [b, ts] (padded with padId) → memory [b, ts, d] and its additive mask [b, 1, 1, ts]. */
  encode(srcIds: tf.Tensor2D): { memory: tf.Tensor3D; memoryMask: tf.Tensor4D } {
    this.checkIds('srcIds', srcIds);
    return tf.tidy(() => {
      const memoryMask = paddingMask(tf.notEqual(srcIds, this.config.padId));
      const { lastHidden } = this.encoder.forward(this.embed(this.srcEmbed, srcIds), { mask: memoryMask });
      const memory = (this.encoderNorm ? this.encoderNorm.forward(lastHidden) : lastHidden) as tf.Tensor3D;
      return { memory, memoryMask };
    });
  }

  /** tgtIds: int32 [b, tt] (BOS-first, shifted right) → next-token logits [b, tt, tgtVocab]. */
  decode(tgtIds: tf.Tensor2D, memory: tf.Tensor3D, memoryMask: tf.Tensor4D): tf.Tensor3D {
    this.checkIds('tgtIds', tgtIds);
    return tf.tidy(() => {
      const tt = tgtIds.shape[1];
      // A target position sees only itself and earlier positions, and never padding.
      const selfMask = combineMasks(causalMask(tt), paddingMask(tf.notEqual(tgtIds, this.config.padId)));
      const { lastHidden } = this.decoder.forward(this.embed(this.tgtEmbed, tgtIds), memory, {
        selfMask,
        memoryMask,
      });
      const h = this.decoderNorm ? this.decoderNorm.forward(lastHidden) : lastHidden;
      return this.generator.forward(h) as tf.Tensor3D;
    });
  }

  /** Teacher-forced logits: [b, tt, tgtVocab]. */
  forward(srcIds: tf.Tensor2D, tgtIds: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const { memory, memoryMask } = this.encode(srcIds);
      return this.decode(tgtIds, memory, memoryMask);
    });
  }

  /** Cross-attention probabilities of every decoder layer, [b, heads, tt, ts] each (to draw alignments). */
  crossAttentions(srcIds: tf.Tensor2D, tgtIds: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const { memory, memoryMask } = this.encode(srcIds);
      const selfMask = combineMasks(
        causalMask(tgtIds.shape[1]),
        paddingMask(tf.notEqual(tgtIds, this.config.padId)),
      );
      const x = this.embed(this.tgtEmbed, tgtIds);
      return this.decoder.forward(x, memory, { selfMask, memoryMask, outputAttentions: true })
        .crossAttentions!;
    });
  }

  /**
   * Mean cross-entropy of the next-token predictions over non-padding target positions.
   * tgtIn = [BOS, y1, …, yn], tgtOut = [y1, …, yn, EOS] (both padded with padId).
   * labelSmoothing ε spreads ε of the target mass uniformly over the vocabulary (paper: 0.1).
   */
  loss(
    srcIds: tf.Tensor2D,
    tgtIn: tf.Tensor2D,
    tgtOut: tf.Tensor2D,
    opts: { labelSmoothing?: number } = {},
  ): tf.Scalar {
    return tf.tidy(() =>
      crossEntropy(this.forward(srcIds, tgtIn), tgtOut, {
        ignoreIndex: this.config.padId,
        labelSmoothing: opts.labelSmoothing ?? 0,
      }),
    );
  }

  /** Greedy decoding of every source row; returns the generated ids, BOS/EOS stripped. */
  greedyDecode(srcIds: tf.Tensor2D, opts: { maxNewTokens?: number } = {}): number[][] {
    const { memory, memoryMask } = this.encode(srcIds);
    try {
      return greedySearch(
        this.stepFn(memory, memoryMask),
        srcIds.shape[0],
        this.searchOptions(opts.maxNewTokens),
      );
    } finally {
      tf.dispose([memory, memoryMask]);
    }
  }

  /** Beam search for each source row: its hypotheses, best first. */
  beamSearch(
    srcIds: tf.Tensor2D,
    opts: { beamSize?: number; lengthPenalty?: number; maxNewTokens?: number } = {},
  ): Hypothesis[][] {
    const beamSize = opts.beamSize ?? 4;
    const results: Hypothesis[][] = [];
    for (let i = 0; i < srcIds.shape[0]; i++) {
      const row = tf.slice(srcIds, [i, 0], [1, -1]);
      const { memory, memoryMask } = this.encode(row);
      // Every beam of this source attends to the same memory: tile it to the beam count on demand.
      const step = (prefixes: number[][]) => {
        const k = prefixes.length;
        const [m, mm] = tf.tidy(() => [tf.tile(memory, [k, 1, 1]), tf.tile(memoryMask, [k, 1, 1, 1])]);
        try {
          return this.stepFn(m as tf.Tensor3D, mm as tf.Tensor4D)(prefixes);
        } finally {
          tf.dispose([m!, mm!]);
        }
      };
      try {
        const options: BeamOptions = {
          ...this.searchOptions(opts.maxNewTokens),
          beamSize,
          lengthPenalty: opts.lengthPenalty,
        };
        results.push(beamSearch(step, options));
      } finally {
        tf.dispose([row, memory, memoryMask]);
      }
    }
    return results;
  }

  override dispose(): void {
    super.dispose();
    this.positions.dispose();
  }

  /** token embedding·√d + sinusoidal position: ids [b, t] → [b, t, d] */
  private embed(table: ScaledTokenEmbedding, ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const t = ids.shape[1];
      return tf.add(
        table.forward(ids),
        tf.slice(this.positions, [0, 0], [t, this.config.dModel]),
      ) as tf.Tensor3D;
    });
  }

  /** The decoding step for search: prefixes → log-probabilities of the next token of each. */
  private stepFn(memory: tf.Tensor3D, memoryMask: tf.Tensor4D) {
    return (prefixes: number[][]): Float32Array[] => {
      const logProbs = tf.tidy(() => {
        const ids = tf.tensor2d(prefixes, undefined, 'int32');
        const logits = this.decode(ids, memory, memoryMask); // [b, t, V]
        const [b, t, V] = logits.shape;
        return tf.logSoftmax(tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, V]), [b, V]));
      });
      const flat = logProbs.dataSync() as Float32Array;
      logProbs.dispose();
      const V = this.config.tgtVocabSize;
      return prefixes.map((_, i) => flat.subarray(i * V, (i + 1) * V));
    };
  }

  private searchOptions(maxNewTokens?: number) {
    const { bosId, eosId, maxLen } = this.config;
    return { bosId, eosId, maxNewTokens: Math.min(maxNewTokens ?? maxLen - 1, maxLen - 1) };
  }

  private checkIds(name: string, ids: tf.Tensor) {
    if (ids.rank !== 2)
      throw new AttentionShapeError(`Transformer: ${name}`, `expected [batch, seq], got [${ids.shape}]`);
    if (ids.shape[1]! > this.config.maxLen)
      throw new AttentionShapeError(
        `Transformer: ${name}`,
        `length ${ids.shape[1]} exceeds maxLen ${this.config.maxLen}`,
      );
  }
}
