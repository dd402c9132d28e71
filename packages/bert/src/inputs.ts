import { tf } from '@attn/core-tensor';
import type { BertConfig } from './config.js';
import { BertInputError } from './errors.js';

/** A [batch, seq] integer input: an int32 tensor or nested number arrays. */
export type IntMatrix = tf.Tensor | number[][];

export interface BertInputs {
  inputIds: IntMatrix;
  /** 1 for real tokens, 0 for padding. Default: all ones. */
  attentionMask?: IntMatrix;
  /** Segment ids (0 for sentence A, 1 for sentence B). Default: all zeros. */
  tokenTypeIds?: IntMatrix;
}

/** Validated int32 tensors, all [batch, seq]. The caller disposes them. */
export interface PreparedInputs {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  tokenTypeIds: tf.Tensor2D;
}

/**
 * Checks every input against the config and converts it to int32 [batch, seq] tensors.
 * Reads the values once (they are small) so that an id outside the vocab is an error here,
 * not a silent zero row from `gather` on some backends.
 */
export function prepareInputs(config: BertConfig, inputs: BertInputs): PreparedInputs {
  if (!inputs || inputs.inputIds === undefined) throw new BertInputError('inputIds is required');
  const ids = toMatrix(inputs.inputIds, 'inputIds');
  const [b, t] = ids.shape;
  if (b === 0) throw new BertInputError('inputIds: empty batch (0 sequences)');
  if (t === 0) throw new BertInputError('inputIds: empty sequences (length 0)');
  if (t > config.max_position_embeddings)
    throw new BertInputError(
      `inputIds: sequence length ${t} exceeds max_position_embeddings (${config.max_position_embeddings}); truncate the input`,
    );
  checkRange(ids, 'inputIds', config.vocab_size, 'vocab_size');
  const mask = inputs.attentionMask === undefined ? null : toMatrix(inputs.attentionMask, 'attentionMask');
  const types = inputs.tokenTypeIds === undefined ? null : toMatrix(inputs.tokenTypeIds, 'tokenTypeIds');
  for (const [name, m] of [
    ['attentionMask', mask],
    ['tokenTypeIds', types],
  ] as const)
    if (m && (m.shape[0] !== b || m.shape[1] !== t))
      throw new BertInputError(`${name}: shape [${m.shape}] differs from inputIds [${b},${t}]`);
  if (mask) checkRange(mask, 'attentionMask', 2, 'values 0/1');
  if (types) checkRange(types, 'tokenTypeIds', config.type_vocab_size, 'type_vocab_size');
  return tf.tidy(() => ({
    inputIds: tf.tensor2d(ids.values, [b, t], 'int32'),
    attentionMask: mask
      ? tf.tensor2d(mask.values, [b, t], 'int32')
      : (tf.ones([b, t], 'int32') as tf.Tensor2D),
    tokenTypeIds: types
      ? tf.tensor2d(types.values, [b, t], 'int32')
      : (tf.zeros([b, t], 'int32') as tf.Tensor2D),
  }));
}

interface Matrix {
  values: Int32Array;
  shape: [number, number];
}

function toMatrix(x: IntMatrix, name: string): Matrix {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new BertInputError(`${name}: tensor is disposed`);
    if (x.rank !== 2)
      throw new BertInputError(`${name}: expected a [batch, seq] tensor, got shape [${x.shape}]`);
    const raw = x.dataSync();
    const values = Int32Array.from(raw);
    if (x.dtype !== 'int32' && raw.some((v, i) => v !== values[i]))
      throw new BertInputError(`${name}: expected integer values, got a ${x.dtype} tensor with fractions`);
    return { values, shape: [x.shape[0]!, x.shape[1]!] };
  }
  if (!Array.isArray(x) || !x.every(Array.isArray))
    throw new BertInputError(`${name}: expected an int32 tensor or number[][] ([batch, seq])`);
  const t = x.length ? x[0]!.length : 0;
  x.forEach((row, i) => {
    if (row.length !== t)
      throw new BertInputError(`${name}: row ${i} has length ${row.length}, row 0 has ${t} (pad the batch)`);
  });
  const flat = x.flat();
  if (!flat.every(Number.isInteger)) throw new BertInputError(`${name}: expected integers`);
  return { values: Int32Array.from(flat), shape: [x.length, t] };
}

function checkRange(m: Matrix, name: string, limit: number, what: string) {
  const t = m.shape[1];
  const i = m.values.findIndex((v) => v < 0 || v >= limit);
  if (i >= 0)
    throw new BertInputError(
      `${name}: value ${m.values[i]} at [${Math.floor(i / t)}, ${i % t}] is outside [0, ${limit}) (${what})`,
    );
}

/** Labels as a tensor of the given dtype: a tensor, number[] ([b]) or number[][] ([b, t] or [b, C]). */
export function labelTensor(
  x: tf.Tensor | number[] | number[][],
  name: string,
  batch: number,
  dtype: 'int32' | 'float32',
): tf.Tensor {
  const t = x instanceof tf.Tensor ? tf.cast(x, dtype) : tf.tensor(x as number[], undefined, dtype);
  if (t.shape[0] !== batch) {
    t.dispose();
    throw new BertInputError(`${name}: batch size ${t.shape[0]} differs from inputIds' ${batch}`);
  }
  return t;
}
