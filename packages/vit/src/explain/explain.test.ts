import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ViTForImageClassification } from '../model.js';
import { ViTImageProcessor } from '../processor.js';
import { renderAttentionHeatmap } from './heatmap.js';
import { attentionRollout, clsAttentionMap } from './rollout.js';

beforeAll(() => initBackend('wasm'));

// Two layers, two heads, 3 tokens ([CLS] + a 1×2 patch grid), worked by hand:
//   layer 0: head mean [[.4,.3,.3],[0,1,0],[0,0,1]] → Â0 = ½A + ½I = [[.7,.15,.15],[0,1,0],[0,0,1]]
//   layer 1: both heads [[0,1,0],[0,1,0],[0,0,1]]   → Â1 = [[.5,.5,0],[0,1,0],[0,0,1]]
//   R = Â1·Â0, [CLS] row = .5·[.7,.15,.15] + .5·[0,1,0] = [.35, .575, .075] → patches [.575, .075]
const layer0 = [
  [
    [0.2, 0.4, 0.4],
    [0, 1, 0],
    [0, 0, 1],
  ],
  [
    [0.6, 0.2, 0.2],
    [0, 1, 0],
    [0, 0, 1],
  ],
];
const pointer = [
  [0, 1, 0],
  [0, 1, 0],
  [0, 0, 1],
];
const layer1 = [pointer, pointer];

describe('attention rollout', () => {
  it('matches the hand computation (residual identity, head averaging, layer product)', async () => {
    const atts = [tf.tensor4d([layer0]), tf.tensor4d([layer1])];
    const [map] = await expectNoLeaks(() => attentionRollout(atts, { grid: [1, 2] }), 'rollout');
    expect(map.height).toBe(1);
    expect(map.width).toBe(2);
    expect(map.values[0]).toBeCloseTo(0.575, 6);
    expect(map.values[1]).toBeCloseTo(0.075, 6);
    // per-layer [CLS] attention: layer 0 mean = [.3, .3], head 1 = [.2, .2]
    const [l0] = await clsAttentionMap(atts, 0, { grid: [1, 2] });
    expect(Array.from(l0.values)).toEqual([0.30000001192092896, 0.30000001192092896]);
    const [h1] = await clsAttentionMap(atts, 0, { grid: [1, 2], head: 1 });
    expect(h1.values[0]).toBeCloseTo(0.2, 6);
    tf.dispose(atts);
  });

  it('a batch gives one map per image; a non-square token count needs a grid', async () => {
    const a = tf.tensor4d([[layer0[0]], [layer0[1]]]); // [2, 1, 3, 3]
    const maps = await attentionRollout([a], { grid: [2, 1] });
    expect(maps).toHaveLength(2);
    // single layer: ½A + ½I, [CLS] row patches = ½·A[0,1:]
    expect(maps[0].values[0]).toBeCloseTo(0.2, 6);
    expect(maps[1].values[1]).toBeCloseTo(0.1, 6);
    await expect(attentionRollout([a])).rejects.toThrow(/not a square grid/);
    a.dispose();
  });
});

describe.skipIf(!haveFixtures('ViT heatmap'))('attention heatmap over a real photo', () => {
  it('writes a PNG whose hot region is where the rollout is high', async () => {
    const dir = fixturePath('models', 'vit-tiny-tinyimagenet');
    const model = await ViTForImageClassification.fromPretrained(dir);
    const proc = await ViTImageProcessor.fromPretrained(dir);
    const photo = fixturePath('data', 'tiny-imagenet-val-200', 'val_68.JPEG');
    const { pixelValues } = await proc.preprocess(photo);
    const out = model.forward(pixelValues, { outputAttentions: true });
    const [map] = await attentionRollout(out.attentions!);
    expect([map.height, map.width]).toEqual([14, 14]);
    const tmp = await mkdtemp(join(tmpdir(), 'vit-heat-'));
    try {
      const path = join(tmp, 'rollout.png');
      await renderAttentionHeatmap(photo, map, path, { width: 224, alpha: 1 });
      const meta = await sharp(await readFile(path)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 224, 224]);
      // With alpha 1 the picture is the colour ramp alone: the hottest patch is the brightest place.
      const { data } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
      const hot = map.values.indexOf(Math.max(...map.values));
      const cold = map.values.indexOf(Math.min(...map.values));
      const at = (p: number) => data[(Math.floor(p / 14) * 16 + 8) * 224 + (p % 14) * 16 + 8];
      expect(at(hot)).toBeGreaterThan(at(cold));
    } finally {
      await rm(tmp, { recursive: true, force: true });
      tf.dispose([pixelValues, out.logits, ...out.attentions!]);
      model.dispose();
    }
  });
});
