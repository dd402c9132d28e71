import { Dropout, Linear, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph, OnnxOutput } from '@attn/core-tensor/onnx';
import { BertModel, type BertOnnxInputs, type ForwardOptions } from './bert-model.js';
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

  toOnnx(g: OnnxModuleGraph, inputs: BertOnnxInputs): { logits: OnnxOutput } {
    const pooled = this.bert.toOnnx(g, inputs).pooler_output!.value;
    const dropped = g.dropout(pooled, this.dropout.rate, this.dropout.training);
    return { logits: { value: this.classifier.toOnnx(g, dropped), dims: ['batch', numLabels(this.config)] } };
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

  toOnnx(g: OnnxModuleGraph, inputs: BertOnnxInputs): { logits: OnnxOutput } {
    const hidden = this.bert.toOnnx(g, inputs).last_hidden_state.value;
    const dims = ['batch', 'sequence', numLabels(this.config)];
    return { logits: { value: this.classifier.toOnnx(g, hidden), dims } };
  }
}

export interface QuestionAnsweringOutput {
  /** [b, t]: where the answer span starts, per token. */
  startLogits: tf.Tensor2D;
  /** [b, t] */
  endLogits: tf.Tensor2D;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
}

/** HF `BertForQuestionAnswering`: BERT without pooler and `qa_outputs` [H → 2], split into start and end logits. */
export class BertForQuestionAnswering extends BertPreTrainedModel {
  static override readonly architecture = 'BertForQuestionAnswering';
  protected readonly basePrefix = 'bert.';
  readonly bert;
  readonly qa_outputs;
  constructor(config: BertConfig) {
    super(config);
    this.bert = this.module('bert', new BertModel(config, { addPoolingLayer: false }));
    this.qa_outputs = this.module(
      'qa_outputs',
      new Linear(config.hidden_size, 2, { std: config.initializer_range }),
    );
  }

  forward(inputs: BertInputs, opts: ForwardOptions = {}): QuestionAnsweringOutput {
    return runTask(this.bert, inputs, opts, (base) => {
      const [start, end] = tf.unstack(this.qa_outputs.forward(base.lastHiddenState), 2); // [b, t] each
      return { startLogits: start as tf.Tensor2D, endLogits: end as tf.Tensor2D };
    });
  }

  toOnnx(g: OnnxModuleGraph, inputs: BertOnnxInputs): { start_logits: OnnxOutput; end_logits: OnnxOutput } {
    const logits = this.qa_outputs.toOnnx(g, this.bert.toOnnx(g, inputs).last_hidden_state.value);
    const [start, end] = g.nodeN('Split', [logits, g.constInt64([1, 1])], { axis: -1 }, 2);
    const squeeze = (x: string) => g.node('Squeeze', [x, g.constInt64([-1])]); // [b, t, 1] → [b, t]
    return {
      start_logits: { value: squeeze(start), dims: ['batch', 'sequence'] },
      end_logits: { value: squeeze(end), dims: ['batch', 'sequence'] },
    };
  }
}
