import { gelu, LayerNorm, Linear, Module, type Parameter, tf } from '@attn/core-tensor';
import type { BertConfig } from './config.js';

/** HF `ACT2FN` for the activations BertConfig allows. */
export function hiddenActivation(name: BertConfig['hidden_act']): (x: tf.Tensor) => tf.Tensor {
  if (name === 'relu') return (x) => tf.relu(x);
  if (name === 'gelu_new')
    // tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    return (x) =>
      tf.tidy(() =>
        tf.mul(
          tf.mul(0.5, x),
          tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
        ),
      );
  return gelu;
}

/** tanh(dense(first token)): a sentence vector for NSP and classification. Name: `dense`. */
export class BertPooler extends Module {
  readonly dense;
  constructor(config: BertConfig) {
    super();
    this.dense = this.module(
      'dense',
      new Linear(config.hidden_size, config.hidden_size, { std: config.initializer_range }),
    );
  }
  /** hidden: [b, t, H] → [b, H] */
  forward(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, , H] = hidden.shape;
      const first = tf.reshape(tf.slice(hidden, [0, 0, 0], [b!, 1, H!]), [b!, H!]);
      return tf.tanh(this.dense.forward(first));
    });
  }
}

/** dense → activation → LayerNorm, before the vocabulary projection. Names: `dense`, `LayerNorm`. */
export class BertPredictionHeadTransform extends Module {
  readonly dense;
  readonly LayerNorm;
  private readonly act;
  constructor(config: BertConfig) {
    super();
    const H = config.hidden_size;
    this.dense = this.module('dense', new Linear(H, H, { std: config.initializer_range }));
    this.LayerNorm = this.module('LayerNorm', new LayerNorm(H, config.layer_norm_eps));
    this.act = hiddenActivation(config.hidden_act);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.LayerNorm.forward(this.act(this.dense.forward(x))));
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
    this.bias = this.param('bias', tf.zeros([config.vocab_size]));
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
