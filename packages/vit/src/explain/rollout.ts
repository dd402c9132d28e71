import { tf } from '@attn/core-tensor';

/** A [height, width] grid of weights over the image's patches, row-major. */
export interface PatchMap {
  values: Float32Array;
  height: number;
  width: number;
}

export interface RolloutOptions {
  /** How the heads of a layer are combined. Default 'mean' (Abnar & Zuidema). */
  headFusion?: 'mean' | 'max' | 'min';
  /** Patch grid [rows, cols]; default: square. */
  grid?: [number, number];
}

function gridOf(tokens: number, grid?: [number, number]): [number, number] {
  if (grid) return grid;
  const g = Math.round(Math.sqrt(tokens - 1));
  if (g * g !== tokens - 1)
    throw new RangeError(`${tokens - 1} patch tokens are not a square grid: pass opts.grid`);
  return [g, g];
}

function fuseHeads(a: tf.Tensor4D, how: RolloutOptions['headFusion']): tf.Tensor3D {
  if (how === 'max') return tf.max(a, 1);
  if (how === 'min') return tf.min(a, 1);
  return tf.mean(a, 1);
}

/**
 * Attention rollout (Abnar & Zuidema 2020): per layer, fuse the heads, add the residual path as the
 * identity (Â = ½A + ½I, rows renormalised), multiply the layers from the first to the last
 * (R = Â_L ··· Â_1), and read the [CLS] row over the patch tokens: how much each patch flows into [CLS].
 * attentions: one [b, heads, t, t] per layer (a ViT forward with `outputAttentions`). One map per image.
 */
export async function attentionRollout(
  attentions: tf.Tensor4D[],
  opts: RolloutOptions = {},
): Promise<PatchMap[]> {
  if (attentions.length === 0) throw new RangeError('attentionRollout: no attention layers given');
  const [b, , t] = attentions[0].shape;
  const [gh, gw] = gridOf(t, opts.grid);
  const cls = tf.tidy(() => {
    const eye = tf.reshape(tf.eye(t), [1, t, t]);
    let rollout: tf.Tensor3D | undefined;
    for (const layer of attentions) {
      const mixed = tf.add(tf.mul(fuseHeads(layer, opts.headFusion), 0.5), tf.mul(eye, 0.5)) as tf.Tensor3D;
      const normed = tf.div(mixed, tf.sum(mixed, -1, true)) as tf.Tensor3D;
      rollout = rollout ? (tf.matMul(normed, rollout) as tf.Tensor3D) : normed;
    }
    return tf.slice(rollout!, [0, 0, 1], [b, 1, t - 1]); // [b, 1, patches]
  });
  const values = await cls.data();
  cls.dispose();
  return Array.from({ length: b }, (_, n) => ({
    values: Float32Array.from(values.subarray(n * (t - 1), (n + 1) * (t - 1))),
    height: gh,
    width: gw,
  }));
}

/** The [CLS] query's attention over the patches in one layer (heads fused, default mean; or one head). */
export async function clsAttentionMap(
  attentions: tf.Tensor4D[],
  layer: number,
  opts: RolloutOptions & { head?: number } = {},
): Promise<PatchMap[]> {
  const a = attentions.at(layer);
  if (!a) throw new RangeError(`clsAttentionMap: layer ${layer} of ${attentions.length}`);
  const [b, heads, t] = a.shape;
  const [gh, gw] = gridOf(t, opts.grid);
  if (opts.head !== undefined && !(opts.head >= 0 && opts.head < heads))
    throw new RangeError(`clsAttentionMap: head ${opts.head} of ${heads}`);
  const row = tf.tidy(() => {
    const fused =
      opts.head === undefined
        ? fuseHeads(a, opts.headFusion)
        : (tf.reshape(tf.slice(a, [0, opts.head, 0, 0], [b, 1, t, t]), [b, t, t]) as tf.Tensor3D);
    return tf.slice(fused, [0, 0, 1], [b, 1, t - 1]);
  });
  const values = await row.data();
  row.dispose();
  return Array.from({ length: b }, (_, n) => ({
    values: Float32Array.from(values.subarray(n * (t - 1), (n + 1) * (t - 1))),
    height: gh,
    width: gw,
  }));
}
