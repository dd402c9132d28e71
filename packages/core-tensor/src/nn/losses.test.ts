import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { expectNoLeaks } from '../testing.js';
import { crossEntropy, IGNORE_INDEX } from './losses.js';

beforeAll(async () => {
  await initBackend('cpu');
});

// Row [1, 2, 3]: logsumexp = 3 + ln(1 + e⁻¹ + e⁻²) = 3.4076059644, so the per-class losses are
// lse − x = [2.4076059644, 1.4076059644, 0.4076059644]. Row [0, 0, 0]: ln 3 = 1.0986122887 for every class.
const LOGITS = [
  [1, 2, 3],
  [0, 0, 0],
];

describe('crossEntropy', () => {
  it('is the mean −log p(label) over the counted positions', async () => {
    await expectNoLeaks(async () => {
      const logits = tf.tensor2d(LOGITS);
      const labels = tf.tensor1d([2, 0], 'int32');
      const masked = tf.tensor1d([2, IGNORE_INDEX], 'int32');
      const both = crossEntropy(logits, labels);
      expect((await both.data())[0]).toBeCloseTo((0.4076059644 + 1.0986122887) / 2, 6);
      const ignored = crossEntropy(logits, masked);
      expect((await ignored.data())[0]).toBeCloseTo(0.4076059644, 6);
      const padId = crossEntropy(logits, labels, { ignoreIndex: 0 });
      expect((await padId.data())[0]).toBeCloseTo(0.4076059644, 6);
      tf.dispose([both, ignored, padId, logits, labels, masked]);
    }, 'crossEntropy');
  });

  it('label smoothing mixes (1 − ε)·nll with ε·the mean over the classes (PyTorch label_smoothing)', async () => {
    const logits = tf.tensor3d([LOGITS]); // [1, 2, 3]: leading dimensions are flattened
    const loss = crossEntropy(logits, tf.tensor2d([[2, 0]], [1, 2], 'int32'), { labelSmoothing: 0.1 });
    const row0 = 0.9 * 0.4076059644 + 0.1 * 1.4076059644;
    expect((await loss.data())[0]).toBeCloseTo((row0 + 1.0986122887) / 2, 6);
    tf.dispose([logits, loss]);
  });

  it('is 0, not NaN, when every label is ignored', async () => {
    const logits = tf.tensor2d(LOGITS);
    const loss = crossEntropy(logits, tf.tensor1d([IGNORE_INDEX, IGNORE_INDEX], 'int32'));
    const value = (await loss.data())[0]!;
    expect(Number.isNaN(value)).toBe(false);
    expect(Math.abs(value)).toBe(0);
    tf.dispose([logits, loss]);
  });
});
