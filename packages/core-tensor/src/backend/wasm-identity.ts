import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-wasm's Identity copies its input, and Identity is what tfjs's engine runs to keep every tensor
 * a taped op saves for its backward (`saveTensorsForBackwardMode` clones each one) and every `tf.clone`.
 * So a training forward holds a private copy per saving op: a Linear's input twice (the Reshape and the
 * matmul both save it), its weight once per step, a residual sum once per Add and once per LayerNorm op.
 * The CPU and WebGL backends share the buffer instead (a reference count, as wasm's own Reshape does);
 * this makes wasm do the same. Tensors are immutable and no wasm kernel writes into its inputs, so a shared
 * buffer holds the same values a copy would: the numbers do not change, only the memory.
 */
let installed = false;

interface RefCountingBackend {
  incRef(dataId: object): void;
}

export function registerWasmSharedIdentity(): void {
  if (installed) return;
  const original = tf.getKernel('Identity', 'wasm');
  if (!original) return;
  installed = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
