import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ViTConfig } from './config.js';
import { ViTEmbeddings, ViTInputError } from './embeddings.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/**
 * A 4×4 one-channel image in 2×2 patches (a 2×2 grid), hidden size 2. The kernel (PyTorch OIHW, as in a
 * checkpoint) makes hidden unit 0 the patch's top-left pixel and unit 1 the patch's mean; bias (0, 1).
 */
function tinyEmbeddings(): ViTEmbeddings {
  const config = ViTConfig.from({
    hidden_size: 2,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: 4,
    image_size: 4,
    patch_size: 2,
    num_channels: 1,
  }).fields;
  const emb = new ViTEmbeddings(config);
  const state = new Map<string, tf.Tensor>([
    ['cls_token', tf.tensor3d([[[7, -7]]])],
    // position i = (i, 10·i) for the [CLS] slot 0 and the patches 1..4
    ['position_embeddings', tf.tensor3d([0, 0, 1, 10, 2, 20, 3, 30, 4, 40], [1, 5, 2])],
    ['patch_embeddings.projection.weight', tf.tensor4d([1, 0, 0, 0, 0.25, 0.25, 0.25, 0.25], [2, 1, 2, 2])],
    ['patch_embeddings.projection.bias', tf.tensor1d([0, 1])],
  ]);
  emb.loadStateDict(state, { release: true });
  return emb;
}

describe('ViTEmbeddings', () => {
  it('patches row-major over the grid, projected, after the class token, plus positions: by hand', async () => {
    const emb = tinyEmbeddings();
    // Image 0: pixel (y, x) = 4y + x. Patches: (0,0) = 0 1 4 5, (0,1) = 2 3 6 7, (1,0) = 8 9 12 13,
    // (1,1) = 10 11 14 15, so (top-left, mean) = (0, 2.5), (2, 4.5), (8, 10.5), (10, 12.5). Image 1: zeros.
    const pixels = tf.tensor4d(
      [...Array.from({ length: 16 }, (_, i) => i), ...Array(16).fill(0)],
      [2, 1, 4, 4],
    );
    await expectNoLeaks(() => emb.forward(pixels).dispose(), 'forward');
    const out = emb.forward(pixels);
    expect(out.shape).toEqual([2, 5, 2]);
    const got = out.arraySync() as number[][][];
    const want = [
      [
        [7, -7], // [CLS] + position 0
        [0 + 1, 2.5 + 1 + 10],
        [2 + 2, 4.5 + 1 + 20],
        [8 + 3, 10.5 + 1 + 30],
        [10 + 4, 12.5 + 1 + 40],
      ],
      [
        [7, -7],
        [1, 11], // a black patch is the bias (0, 1), plus its position
        [2, 21],
        [3, 31],
        [4, 41],
      ],
    ];
    for (let b = 0; b < 2; b++)
      for (let t = 0; t < 5; t++)
        for (let h = 0; h < 2; h++) expect(got[b]![t]![h]).toBeCloseTo(want[b]![t]![h]!, 5);
    tf.dispose([pixels, out]);
    emb.dispose();
  });

  it('names the tensor when the image does not fit', () => {
    const emb = tinyEmbeddings();
    const rgb = tf.zeros([1, 3, 4, 4]);
    const small = tf.zeros([1, 1, 2, 2]);
    expect(() => emb.forward(rgb)).toThrow(ViTInputError);
    expect(() => emb.forward(rgb)).toThrow(/pixelValues: 3 channels.*num_channels=1/);
    expect(() => emb.forward(small)).toThrow(/pixelValues: input image size \(2\*2\)/);
    tf.dispose([rgb, small]);
    emb.dispose();
  });
});
