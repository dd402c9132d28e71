import { tf } from '@attn/core-tensor';

/**
 * Compares tfjs's gradients of `lossFn` with central finite differences (f(x+ε) − f(x−ε)) / 2ε at a few
 * entries of every variable. float32 limits the precision, so ε is large (1e-2, truncation error O(ε²))
 * and the comparison is relative. Returns the worst error, |analytic − numeric| / (|numeric| + 1e-2).
 */
export function gradCheck(
  lossFn: () => tf.Scalar,
  variables: tf.Variable[],
  { samples = 3, eps = 1e-2 } = {},
) {
  const { value, grads } = tf.variableGrads(lossFn, variables);
  value.dispose();
  let worst = 0;
  let checked = 0;
  for (const v of variables) {
    const analytic = grads[v.name]!.dataSync();
    const original = v.dataSync().slice();
    const n = original.length;
    for (let s = 0; s < Math.min(samples, n); s++) {
      const i = Math.floor(((s + 0.5) * n) / Math.min(samples, n)); // spread over the tensor
      const at = (delta: number) => {
        const changed = original.slice();
        changed[i] = original[i]! + delta;
        tf.tidy(() => v.assign(tf.tensor(changed, v.shape)));
        return tf.tidy(() => lossFn().dataSync()[0]!);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
      worst = Math.max(worst, Math.abs(analytic[i]! - numeric) / (Math.abs(numeric) + 1e-2));
      checked++;
    }
  }
  tf.dispose(Object.values(grads));
  return { worst, checked };
}
