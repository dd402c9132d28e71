import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ViTForImageClassification } from '../index.js';

// fp16 weight files: `save(dir, undefined, { dtype: 'fp16' })` stores model.fp16.safetensors (F16), and loading
// widens them to float32.
describe.skipIf(!haveFixtures('ViT fp16 weights'))('ViT weights stored as fp16', () => {
  const root = mkdtempSync(join(tmpdir(), 'attn-fp16-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('halves the weights file, and tfjs gives logits within 2e-2 of fp32 with the same top-1', async () => {
    await initBackend('cpu');
    const src = fixturePath('models', 'vit-tiny-tinyimagenet');
    const fp32 = await ViTForImageClassification.fromPretrained(src);
    await fp32.save(root, undefined, { dtype: 'fp16' });
    const bytes = (d: string, f: string) => statSync(join(d, f)).size;
    const ratio = bytes(root, 'model.fp16.safetensors') / bytes(src, 'model.safetensors');
    expect(ratio).toBeGreaterThan(0.49);
    expect(ratio).toBeLessThan(0.51);
    const header = readFileSync(join(root, 'model.fp16.safetensors'));
    const json = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString());
    expect(json['vit.encoder.layer.0.attention.attention.query.weight'].dtype).toBe('F16');
    const fp16 = await ViTForImageClassification.fromPretrained(root);
    const pixels = tf.randomUniform([4, 3, 224, 224], -1, 1, 'float32', 7) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { diff, scale, top32, top16 } = tf.tidy(() => {
      const a = fp32.forward(pixels).logits;
      const b = fp16.forward(pixels).logits;
      return {
        diff: tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!,
        scale: tf.max(tf.abs(a)).dataSync()[0]!,
        top32: [...tf.argMax(a, -1).dataSync()],
        top16: [...tf.argMax(b, -1).dataSync()],
      };
    });
    expect(tf.memory().numTensors).toBe(before);
    console.log(
      `fp16 weights: max |logit − fp32| = ${diff.toExponential(2)} (logits up to ${scale.toFixed(2)})`,
    );
    expect(diff).toBeLessThan(2e-2);
    expect(diff).toBeGreaterThan(0); // the weights really were rounded
    expect(top16).toEqual(top32);
    pixels.dispose();
    fp32.dispose();
    fp16.dispose();
  }, 120_000);
});
