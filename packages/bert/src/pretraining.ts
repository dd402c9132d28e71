import { gatherRows, tf } from '@attn/core-tensor';
import type { OnnxModuleGraph, OnnxOutput } from '@attn/core-tensor/onnx';
import { BertModel, type BertOnnxInputs, type ForwardOptions } from './bert-model.js';
import type { BertConfig } from './config.js';
import { BertInputError } from './errors.js';
import { BertOnlyMLMHead, BertOnlyNSPHead, BertPreTrainingHeads } from './heads.js';
import { type BertInputs, labelTensor, prepareInputs } from './inputs.js';
import { crossEntropy, IGNORE_INDEX } from './losses.js';
import { BertPreTrainedModel } from './pretrained.js';

export interface PreTrainingInputs extends BertInputs {
  /** MLM targets [b, t]: the original id at masked positions, -100 elsewhere. */
  labels?: tf.Tensor | number[][];
  /** NSP targets [b]: 0 = B follows A, 1 = B is random. */
  nextSentenceLabel?: tf.Tensor | number[];
}

export interface TaskForwardOptions extends ForwardOptions {
  /**
   * Compute the full [b, t, V] MLM logits (default true). Training turns this off: the loss then needs
   * the vocabulary projection only at the masked positions, which is the same loss for a fraction of the work.
   */
  returnLogits?: boolean;
}

export interface PreTrainingOutput {
  /** [b, t, V] */
  predictionLogits?: tf.Tensor3D;
  /** [b, 2] */
  seqRelationshipLogits?: tf.Tensor2D;
  /** mlmLoss + nspLoss, when labels are given. */
  loss?: tf.Scalar;
  mlmLoss?: tf.Scalar;
  nspLoss?: tf.Scalar;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
}

/** HF `BertForPreTraining`: BERT with the masked-LM and next-sentence heads (`bert.*`, `cls.*`). */
export class BertForPreTraining extends BertPreTrainedModel {
  static override readonly architecture = 'BertForPreTraining';
  protected readonly basePrefix = 'bert.';
  readonly bert;
  readonly cls;
  constructor(config: BertConfig) {
    super(config);
    this.bert = this.module('bert', new BertModel(config));
    this.cls = this.module(
      'cls',
      new BertPreTrainingHeads(config, this.bert.embeddings.word_embeddings.weight),
    );
  }

  forward(inputs: PreTrainingInputs, opts: TaskForwardOptions = {}): PreTrainingOutput {
    return runTask(this.bert, inputs, opts, (base, prepared) => {
      const mlm = mlmOutputs(this.cls.predictions, base.lastHiddenState, inputs.labels, opts);
      const nsp = this.cls.seq_relationship.forward(base.poolerOutput!) as tf.Tensor2D;
      const nspLoss =
        inputs.nextSentenceLabel === undefined
          ? undefined
          : crossEntropy(
              nsp,
              labelTensor(inputs.nextSentenceLabel, 'nextSentenceLabel', prepared.inputIds.shape[0], 'int32'),
            );
      const loss = mlm.mlmLoss && nspLoss ? tf.add(mlm.mlmLoss, nspLoss) : (mlm.mlmLoss ?? nspLoss);
      return {
        ...mlm,
        seqRelationshipLogits: nsp,
        ...(loss ? { loss: loss as tf.Scalar } : {}),
        ...(nspLoss ? { nspLoss } : {}),
      };
    });
  }

  toOnnx(
    g: OnnxModuleGraph,
    inputs: BertOnnxInputs,
  ): { prediction_logits: OnnxOutput; seq_relationship_logits: OnnxOutput } {
    const base = this.bert.toOnnx(g, inputs);
    return {
      prediction_logits: mlmLogitsOnnx(g, this.cls.predictions, base.last_hidden_state.value, this.config),
      seq_relationship_logits: {
        value: this.cls.seq_relationship.toOnnx(g, base.pooler_output!.value),
        dims: ['batch', 2],
      },
    };
  }
}

/** HF `BertForMaskedLM`: BERT without pooler, with the masked-LM head (`bert.*`, `cls.predictions.*`). */
export class BertForMaskedLM extends BertPreTrainedModel {
  static override readonly architecture = 'BertForMaskedLM';
  protected readonly basePrefix = 'bert.';
  readonly bert;
  readonly cls;
  constructor(config: BertConfig) {
    super(config);
    this.bert = this.module('bert', new BertModel(config, { addPoolingLayer: false }));
    this.cls = this.module('cls', new BertOnlyMLMHead(config, this.bert.embeddings.word_embeddings.weight));
  }

  forward(
    inputs: BertInputs & { labels?: tf.Tensor | number[][] },
    opts: TaskForwardOptions = {},
  ): Pick<PreTrainingOutput, 'predictionLogits' | 'loss' | 'hiddenStates' | 'attentions'> {
    return runTask(this.bert, inputs, opts, (base) => {
      const { predictionLogits, mlmLoss } = mlmOutputs(
        this.cls.predictions,
        base.lastHiddenState,
        inputs.labels,
        opts,
      );
      return { ...(predictionLogits ? { predictionLogits } : {}), ...(mlmLoss ? { loss: mlmLoss } : {}) };
    });
  }

  toOnnx(g: OnnxModuleGraph, inputs: BertOnnxInputs): { logits: OnnxOutput } {
    const hidden = this.bert.toOnnx(g, inputs).last_hidden_state.value;
    return { logits: mlmLogitsOnnx(g, this.cls.predictions, hidden, this.config) };
  }
}

/** HF `BertForNextSentencePrediction`: BERT with the next-sentence head (`bert.*`, `cls.seq_relationship.*`). */
export class BertForNextSentencePrediction extends BertPreTrainedModel {
  static override readonly architecture = 'BertForNextSentencePrediction';
  protected readonly basePrefix = 'bert.';
  readonly bert;
  readonly cls;
  constructor(config: BertConfig) {
    super(config);
    this.bert = this.module('bert', new BertModel(config));
    this.cls = this.module('cls', new BertOnlyNSPHead(config));
  }

  forward(
    inputs: BertInputs & { labels?: tf.Tensor | number[] },
    opts: ForwardOptions = {},
  ): Pick<PreTrainingOutput, 'seqRelationshipLogits' | 'loss' | 'hiddenStates' | 'attentions'> {
    return runTask(this.bert, inputs, opts, (base, prepared) => {
      const logits = this.cls.seq_relationship.forward(base.poolerOutput!) as tf.Tensor2D;
      if (inputs.labels === undefined) return { seqRelationshipLogits: logits };
      const labels = labelTensor(inputs.labels, 'labels', prepared.inputIds.shape[0], 'int32');
      return { seqRelationshipLogits: logits, loss: crossEntropy(logits, labels) };
    });
  }

  toOnnx(g: OnnxModuleGraph, inputs: BertOnnxInputs): { logits: OnnxOutput } {
    const pooled = this.bert.toOnnx(g, inputs).pooler_output!.value;
    return { logits: { value: this.cls.seq_relationship.toOnnx(g, pooled), dims: ['batch', 2] } };
  }
}

/** The full MLM logits [b, t, V] in ONNX. */
function mlmLogitsOnnx(
  g: OnnxModuleGraph,
  predictions: BertOnlyMLMHead['predictions'],
  hidden: string,
  config: BertConfig,
): OnnxOutput {
  return { value: predictions.toOnnx(g, hidden), dims: ['batch', 'sequence', config.vocab_size] };
}

/**
 * Runs the base model, hands its output to `head`, and returns what the head returns plus the requested
 * hidden states / attentions; everything else is disposed. Shared by every task model.
 */
export function runTask<R extends object>(
  bert: BertModel,
  inputs: BertInputs,
  opts: ForwardOptions,
  head: (base: ReturnType<BertModel['run']>, prepared: ReturnType<typeof prepareInputs>) => R,
): R & Pick<PreTrainingOutput, 'hiddenStates' | 'attentions'> {
  const prepared = prepareInputs(bert.config, inputs);
  try {
    return tf.tidy(() => {
      const base = bert.run(prepared, opts);
      const out = head(base, prepared);
      return {
        ...out,
        ...(base.hiddenStates ? { hiddenStates: base.hiddenStates } : {}),
        ...(base.attentions ? { attentions: base.attentions } : {}),
      } as R & Pick<PreTrainingOutput, 'hiddenStates' | 'attentions'>;
    });
  } finally {
    for (const t of Object.values(prepared)) t.dispose();
  }
}

/** MLM logits (unless turned off) and, with labels, the loss computed only at the labelled positions. */
function mlmOutputs(
  predictions: BertOnlyMLMHead['predictions'],
  hidden: tf.Tensor3D,
  labels: tf.Tensor | number[][] | undefined,
  opts: TaskForwardOptions,
): Pick<PreTrainingOutput, 'predictionLogits' | 'mlmLoss'> {
  const [b, t, H] = hidden.shape;
  const predictionLogits =
    opts.returnLogits === false ? undefined : (predictions.forward(hidden) as tf.Tensor3D);
  if (labels === undefined) return predictionLogits ? { predictionLogits } : {};
  const flat = labelTensor(labels, 'labels', b, 'int32');
  if (flat.shape[1] !== t)
    throw new BertInputError(`labels: shape [${flat.shape}] differs from inputIds [${b},${t}]`);
  const values = flat.dataSync();
  const where = [...values.keys()].filter((i) => values[i] !== IGNORE_INDEX);
  if (where.length === 0) return { ...(predictionLogits ? { predictionLogits } : {}), mlmLoss: tf.scalar(0) };
  const picked = gatherRows(tf.reshape(hidden, [b * t, H]), where); // [M, H]
  const mlmLoss = crossEntropy(predictions.forward(picked), tf.gather(tf.reshape(flat, [-1]), where));
  return { ...(predictionLogits ? { predictionLogits } : {}), mlmLoss };
}
