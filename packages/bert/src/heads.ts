import { activation, activationOnnx, Pooler } from '@attn/attention';
import { LayerNorm, Linear, Module, type Parameter, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph } from '@attn/core-tensor/onnx';
import type { BertConfig } from './config.js';

/** HF `BertPooler`: attention's `Pooler` (tanh(dense(first token))) sized by the config. Name: `dense`. */
export class BertPooler extends Pooler {
  constructor(config: BertConfig) {
    super(config.hidden_size, config.initializer_range);
  }
}

/** dense → activation → LayerNorm, before the vocabulary projection. Names: `dense`, `LayerNorm`. */
export class BertPredictionHeadTransform extends Module {
  readonly dense;
  readonly LayerNorm;
  constructor(private readonly config: BertConfig) {
    super();
    const H = config.hidden_size;
    this.dense = this.module('dense', new Linear(H, H, { std: config.initializer_range }));
    this.LayerNorm = this.module('LayerNorm', new LayerNorm(H, config.layer_norm_eps));
  }
  forward(x: tf.Tensor): tf.Tensor {
    const act = activation(this.config.hidden_act);
    return tf.tidy(() => this.LayerNorm.forward(act(this.dense.forward(x))));
  }
  toOnnx(g: OnnxModuleGraph, x: string): string {
    return this.LayerNorm.toOnnx(g, activationOnnx(g, this.config.hidden_act, this.dense.toOnnx(g, x)));
  }
}

/**
 * The masked-LM head: logits = transform(h) · Eᵀ + bias, where E is the word-embedding matrix [V, H].
 * The decoder is tied to E as in HF, so it is not a parameter of its own and is never saved
 * (`cls.predictions.decoder.weight` / `.bias` are the tied names). Names: `transform.*`, `bias`.
 */
export class BertLMPredictionHead extends Module {
  readonly transform;
  readonly bias;
  constructor(
    config: BertConfig,
    private readonly wordEmbeddings: Parameter,
  ) {
    super();
    this.transform = this.module('transform', new BertPredictionHeadTransform(config));
    // Described, not computed: a deferred model (an ONNX runtime's weightless shape) then holds no tensor.
    const V = config.vocab_size;
    this.bias = this.param('bias', { shape: [V], init: () => tf.zeros([V]) });
  }
  /** hidden: [..., H] → [..., V] */
  forward(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = hidden.shape.slice(0, -1);
      const h = tf.reshape(this.transform.forward(hidden), [-1, hidden.shape.at(-1)!]) as tf.Tensor2D; // [N, H]
      const logits = tf.add(
        tf.matMul(h, this.wordEmbeddings.value as tf.Tensor2D, false, true),
        this.bias.value,
      ); // [N, V]
      return tf.reshape(logits, [...lead, -1]);
    });
  }
  /** The same in ONNX: the tied E [V, H] is stored once; its transpose is folded by onnxruntime at load. */
  toOnnx(g: OnnxModuleGraph, hidden: string): string {
    const eT = g.node('Transpose', [g.param(this.wordEmbeddings)], { perm: [1, 0] }); // [H, V]
    return g.node('Add', [g.node('MatMul', [this.transform.toOnnx(g, hidden), eT]), g.param(this.bias)]);
  }
}

/** `cls` of BertForMaskedLM: `predictions`. */
export class BertOnlyMLMHead extends Module {
  readonly predictions;
  constructor(config: BertConfig, wordEmbeddings: Parameter) {
    super();
    this.predictions = this.module('predictions', new BertLMPredictionHead(config, wordEmbeddings));
  }
}

/** `cls` of BertForNextSentencePrediction: `seq_relationship` (pooled [b, H] → [b, 2]; 0 = is next). */
export class BertOnlyNSPHead extends Module {
  readonly seq_relationship;
  constructor(config: BertConfig) {
    super();
    this.seq_relationship = this.module(
      'seq_relationship',
      new Linear(config.hidden_size, 2, { std: config.initializer_range }),
    );
  }
}

/** `cls` of BertForPreTraining: `predictions` and `seq_relationship`. */
export class BertPreTrainingHeads extends Module {
  readonly predictions;
  readonly seq_relationship;
  constructor(config: BertConfig, wordEmbeddings: Parameter) {
    super();
    this.predictions = this.module('predictions', new BertLMPredictionHead(config, wordEmbeddings));
    this.seq_relationship = this.module(
      'seq_relationship',
      new Linear(config.hidden_size, 2, { std: config.initializer_range }),
    );
  }
}
