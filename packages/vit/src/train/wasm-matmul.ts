import { tf } from '@attn/core-tensor';

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];
let installed = false;

/**
 * tfjs-wasm's BatchMatMul is an order of magnitude slower when asked to transpose an operand (measured:
 * [2176,64]ᵀ·[2176,128] 120 ms with transposeA vs 10 ms after an explicit transpose), and backpropagation
 * through every matmul asks for exactly that. This wraps the wasm kernel so transposed operands are
 * materialised first (the Transpose kernel is fast), then the plain kernel runs. Same numbers, ~10× faster
 * training steps. Only the wasm backend's kernel is touched.
 */
export function installFastTransposedMatMul(): void {
  if (installed) return;
  const matmul = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!matmul || !transpose) return;
  installed = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...matmul,
    kernelFunc: (args: KernelArgs) => {
      const { inputs, backend, attrs } = args;
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return matmul.kernelFunc(args);
      const temps: tf.TensorInfo[] = [];
      const swapLast = (x: tf.TensorInfo) => {
        const r = x.shape.length;
        const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
        const out = transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
        temps.push(out);
        return out;
      };
      const a = transposeA ? swapLast(inputs.a as tf.TensorInfo) : inputs.a;
      const b = transposeB ? swapLast(inputs.b as tf.TensorInfo) : inputs.b;
      const out = matmul.kernelFunc({
        inputs: { a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
      for (const t of temps) (backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
    },
  });
}
