import {
  AdamW,
  crossEntropy,
  initBackend,
  noDecayForBiasAndNorm,
  setSeed,
  tf,
  variableGradsFreeing,
} from '@attn/core-tensor';
import { NativeTrainStep } from '@attn/core-tensor/onnx';
import { deterministicValues, haveOnnxRuntime } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViTConfig } from './config.js';
import { ViTForImageClassification } from './model.js';

const haveOrt = await haveOnnxRuntime('the native training step');

// Two layers on 10 × 10 images in 4 × 4 patches (a remainder row and column the Conv drops), no dropout.
const config = ViTConfig.from({
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  image_size: 10,
  patch_size: 4,
  initializer_range: 0.2,
  id2label: { '0': 'a', '1': 'b', '2': 'c' },
});
const B = 3;
const shape = [B, 3, 10, 10];
const px = deterministicValues(B * 300, 4);
const labels = [1, 2, 0];

function model() {
  setSeed(7);
  return new ViTForImageClassification(config);
}
const stepOf = (m: ViTForImageClassification) =>
  NativeTrainStep.create(m, {
    forward: (g) => m.toOnnx(g, g.input('pixel_values', 'float32', shape)).logits.value,
    threads: 1,
  });
const tfjsLoss = (m: ViTForImageClassification) => () =>
  crossEntropy(
    m.forward(tf.tensor4d(px, shape as [number, number, number, number])).logits,
    tf.tensor1d(labels, 'int32'),
  );
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe.skipIf(!haveOrt)('NativeTrainStep on ViTForImageClassification (onnxruntime-node)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  const opened: NativeTrainStep[] = [];
  afterAll(async () => {
    for (const s of opened) await s.dispose();
  });

  it('loss and every parameter gradient (the patch Conv’s included) equal tfjs variableGradsFreeing to 1e-4', async () => {
    const m = model();
    const step = await stepOf(m);
    opened.push(step);
    const named = m.namedParameters();
    const { value, grads: want } = variableGradsFreeing(
      tfjsLoss(m),
      named.map(([, p]) => p.variable),
    );
    const x = { pixel_values: tf.tensor(px, shape) };
    const y = tf.tensor1d(labels, 'int32');
    const before = tf.memory().numTensors;
    const { loss, grads } = await step.gradients(x, y);
    expect(tf.memory().numTensors - before).toBe(grads.size);
    expect(Math.abs(loss - value.dataSync()[0]!)).toBeLessThan(1e-4);
    expect([...grads.keys()].sort()).toEqual(named.map(([n]) => n).sort());
    for (const [name, p] of named) {
      expect(grads.get(name)!.shape, name).toEqual(p.shape);
      expect(maxDiff(grads.get(name)!, want[p.variable.name]!), name).toBeLessThan(1e-4);
    }
    tf.dispose([value, ...Object.values(want), ...grads.values(), x.pixel_values, y]);
  });

  it('three AdamW steps give the weights tfjs’s three steps give, to 1e-4', async () => {
    const ours = model();
    const ref = model();
    const step = await stepOf(ours);
    opened.push(step);
    const opts = { lr: 1e-2, weightDecay: 0.01, decay: noDecayForBiasAndNorm };
    const [optA, optB] = [new AdamW(ours, opts), new AdamW(ref, opts)];
    const x = { pixel_values: tf.tensor(px, shape) };
    const y = tf.tensor1d(labels, 'int32');
    for (let k = 0; k < 3; k++) {
      const before = tf.memory().numTensors;
      const { loss } = await step.run(x, y, optA);
      expect(tf.memory().numTensors - before).toBe(k === 0 ? 2 * ours.namedParameters().length : 0);
      const { value, grads } = variableGradsFreeing(
        tfjsLoss(ref),
        ref.namedParameters().map(([, p]) => p.variable),
      );
      optB.step(grads);
      expect(Math.abs(loss - value.dataSync()[0]!)).toBeLessThan(1e-4);
      tf.dispose([value, ...Object.values(grads)]);
    }
    const refParams = new Map(ref.namedParameters());
    // The key bias's true gradient is 0 (softmax cancels it); AdamW turns its rounding noise into ±lr steps.
    for (const [name, p] of ours.namedParameters())
      if (!name.endsWith('attention.attention.key.bias'))
        expect(maxDiff(p.variable, refParams.get(name)!.variable), name).toBeLessThan(1e-4);
    optA.dispose();
    optB.dispose();
    tf.dispose([x.pixel_values, y]);
  });
});
