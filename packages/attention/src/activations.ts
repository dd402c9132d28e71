import { gelu, tf } from '@attn/core-tensor';
import { AttentionConfigError } from './errors.js';

/** The feed-forward activations of Hugging Face configs (`hidden_act`). */
export type HiddenAct = 'gelu' | 'gelu_new' | 'relu';

/** GELU, tanh approximation (HF "gelu_new", GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

export function activation(name: HiddenAct): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'gelu':
      return gelu; // exact erf form
    case 'gelu_new':
      return geluNew;
    case 'relu':
      return (x) => tf.relu(x);
    default:
      throw new AttentionConfigError(
        `hiddenAct: unknown activation "${name}" (expected gelu, gelu_new or relu)`,
      );
  }
}
