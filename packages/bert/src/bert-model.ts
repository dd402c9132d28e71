import { paddingMask, paddingMaskOnnx, TransformerEncoder } from '@attn/attention';
import { tf } from '@attn/core-tensor';
import type { OnnxModuleGraph, OnnxOutput } from '@attn/core-tensor/onnx';
import type { BertConfig } from './config.js';
import { BertEmbeddings } from './embeddings.js';
import { BertPooler } from './heads.js';
import { type BertInputs, type PreparedInputs, prepareInputs } from './inputs.js';
import { BertPreTrainedModel } from './pretrained.js';

export interface ForwardOptions {
  /** Also return each layer's attention probabilities [b, heads, t, t]. */
  outputAttentions?: boolean;
  /** Also return the embeddings output and each layer's output, [b, t, H] each (numLayers + 1). */
  outputHiddenStates?: boolean;
}

/** Every tensor is the caller's to dispose. */
export interface BertModelOutput {
  /** [b, t, H] */
  lastHiddenState: tf.Tensor3D;
  /** [b, H]: tanh(dense(first token)); absent when the model has no pooler. */
  poolerOutput?: tf.Tensor2D;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
}

/** The ONNX graph's inputs, int64 [batch, sequence] each (named input_ids, attention_mask, token_type_ids). */
export interface BertOnnxInputs {
  inputIds: string;
  attentionMask: string;
  tokenTypeIds: string;
}

/** The encoder alone: embeddings → N post-LN Transformer layers → optional pooler (HF `BertModel`). */
export class BertModel extends BertPreTrainedModel {
  static override readonly architecture = 'BertModel';
  protected readonly basePrefix = '';
  readonly embeddings;
  readonly encoder;
  readonly pooler;

  constructor(config: BertConfig, opts: { addPoolingLayer?: boolean } = {}) {
    super(config);
    this.embeddings = this.module('embeddings', new BertEmbeddings(config));
    this.encoder = this.module(
      'encoder',
      new TransformerEncoder(
        {
          hiddenSize: config.hidden_size,
          numHeads: config.num_attention_heads,
          intermediateSize: config.intermediate_size,
          hiddenAct: config.hidden_act,
          layerNormEps: config.layer_norm_eps,
          hiddenDropout: config.hidden_dropout_prob,
          attentionDropout: config.attention_probs_dropout_prob,
          std: config.initializer_range,
          norm: 'post',
          naming: 'bert',
        },
        config.num_hidden_layers,
      ),
    );
    this.pooler = opts.addPoolingLayer === false ? undefined : this.module('pooler', new BertPooler(config));
  }

  /** inputIds (and optional attentionMask, tokenTypeIds): int32 [b, t] tensors or number[][]. */
  forward(inputs: BertInputs, opts: ForwardOptions = {}): BertModelOutput {
    const prepared = prepareInputs(this.config, inputs);
    try {
      return this.run(prepared, opts);
    } finally {
      for (const t of Object.values(prepared)) t.dispose();
    }
  }

  /** Forward on already validated inputs (used by the task models). */
  run(inputs: PreparedInputs, opts: ForwardOptions = {}): BertModelOutput {
    return tf.tidy(() => {
      const embedded = this.embeddings.forward(inputs.inputIds, inputs.tokenTypeIds); // [b, t, H]
      const mask = paddingMask(inputs.attentionMask); // [b, 1, 1, t] additive
      const out = this.encoder.forward(embedded, { mask, ...opts });
      return {
        lastHiddenState: out.lastHidden,
        ...(this.pooler ? { poolerOutput: this.pooler.forward(out.lastHidden) as tf.Tensor2D } : {}),
        ...(out.hiddenStates ? { hiddenStates: out.hiddenStates } : {}),
        ...(out.attentions ? { attentions: out.attentions } : {}),
      };
    });
  }

  /** `run` in ONNX; outputs under HF's ModelOutput names. */
  toOnnx(
    g: OnnxModuleGraph,
    inputs: BertOnnxInputs,
  ): { last_hidden_state: OnnxOutput; pooler_output?: OnnxOutput } {
    const embedded = this.embeddings.toOnnx(g, inputs.inputIds, inputs.tokenTypeIds); // [b, t, H]
    const mask = paddingMaskOnnx(g, inputs.attentionMask); // [b, 1, 1, t] additive
    const hidden = this.encoder.toOnnx(g, embedded, mask);
    const H = this.config.hidden_size;
    return {
      last_hidden_state: { value: hidden, dims: ['batch', 'sequence', H] },
      ...(this.pooler ? { pooler_output: { value: this.pooler.toOnnx(g, hidden), dims: ['batch', H] } } : {}),
    };
  }
}
