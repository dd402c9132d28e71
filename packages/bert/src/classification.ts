import { Dropout, Linear, type tf } from '@attn/core-tensor';
import { BertModel, type ForwardOptions } from './bert-model.js';
import { type BertConfig, numLabels } from './config.js';
import { type BertInputs, labelTensor } from './inputs.js';
import { binaryCrossEntropyWithLogits, crossEntropy, meanSquaredError } from './losses.js';
import { BertPreTrainedModel } from './pretrained.js';
import { runTask } from './pretraining.js';

export interface ClassificationOutput {
  /** [b, numLabels] for sequences, [b, t, numLabels] for tokens. */
  logits: tf.Tensor;
  loss?: tf.Scalar;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
}

/**
 * HF `BertForSequenceClassification`: dropout + `classifier` on the pooled output.
 * Loss as HF picks it from `problem_type`: regression (MSE) when there is one label, otherwise single-label
 * cross-entropy for integer labels [b], multi-label BCE for 0/1 rows [b, numLabels].
 */
export class BertForSequenceClassification extends BertPreTrainedModel {
  static override readonly architecture = 'BertForSequenceClassification';
  protected readonly basePrefix = 'bert.';
  readonly bert;
  readonly dropout;
  readonly classifier;
  constructor(config: BertConfig) {
    super(config);
    this.bert = this.module('bert', new BertModel(config));
    this.dropout = this.module(
      'dropout',
      new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob),
    );
    this.classifier = this.module(
      'classifier',
      new Linear(config.hidden_size, numLabels(config), { std: config.initializer_range }),
    );
  }

  forward(
    inputs: BertInputs & { labels?: tf.Tensor | number[] | number[][] },
    opts: ForwardOptions = {},
  ): ClassificationOutput {
    return runTask(this.bert, inputs, opts, (base, prepared) => {
      const logits = this.classifier.forward(this.dropout.forward(base.poolerOutput!)); // [b, C]
      if (inputs.labels === undefined) return { logits };
      const b = prepared.inputIds.shape[0];
      const problem = this.problemType(inputs.labels);
      const loss =
        problem === 'regression'
          ? meanSquaredError(logits, labelTensor(inputs.labels, 'labels', b, 'float32'))
          : problem === 'multi_label_classification'
            ? binaryCrossEntropyWithLogits(logits, labelTensor(inputs.labels, 'labels', b, 'float32'))
            : crossEntropy(logits, labelTensor(inputs.labels, 'labels', b, 'int32'));
      return { logits, loss };
    });
  }

  private problemType(labels: tf.Tensor | number[] | number[][]): string {
    if (this.config.problem_type) return this.config.problem_type;
    if (numLabels(this.config) === 1) return 'regression';
    const rank = Array.isArray(labels) ? (Array.isArray(labels[0]) ? 2 : 1) : labels.rank;
    return rank === 1 ? 'single_label_classification' : 'multi_label_classification';
  }
}

/** HF `BertForTokenClassification`: BERT without pooler, dropout + `classifier` on every token. Labels -100 are skipped. */
export class BertForTokenClassification extends BertPreTrainedModel {
  static override readonly architecture = 'BertForTokenClassification';
  protected readonly basePrefix = 'bert.';
  readonly bert;
  readonly dropout;
  readonly classifier;
  constructor(config: BertConfig) {
    super(config);
    this.bert = this.module('bert', new BertModel(config, { addPoolingLayer: false }));
    this.dropout = this.module(
      'dropout',
      new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob),
    );
    this.classifier = this.module(
      'classifier',
      new Linear(config.hidden_size, numLabels(config), { std: config.initializer_range }),
    );
  }

  forward(
    inputs: BertInputs & { labels?: tf.Tensor | number[][] },
    opts: ForwardOptions = {},
  ): ClassificationOutput {
    return runTask(this.bert, inputs, opts, (base, prepared) => {
      const logits = this.classifier.forward(this.dropout.forward(base.lastHiddenState)); // [b, t, C]
      if (inputs.labels === undefined) return { logits };
      return {
        logits,
        loss: crossEntropy(logits, labelTensor(inputs.labels, 'labels', prepared.inputIds.shape[0], 'int32')),
      };
    });
  }
}
