import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels that training needs but tfjs-backend-wasm 4.22 does not have, e.g. UnsortedSegmentSum
 * (the gradient of gather, so of every Embedding) and Conv2DBackpropFilter (the gradient of a
 * ViT patch embedding's weight). Each runs the CPU backend's implementation on the same values.
 */
export const WASM_FORWARDED_KERNELS = [
  'UnsortedSegmentSum',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Einsum',
] as const;

interface DataBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Registers the missing kernels for 'wasm' (once; a kernel wasm gains in a later tfjs is left alone). */
export function registerWasmTrainingKernels(): void {
  for (const kernelName of WASM_FORWARDED_KERNELS) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    const cpuKernel = tf.getKernel(kernelName, 'cpu');
    if (!cpuKernel) throw new Error(`tfjs-backend-cpu has no ${kernelName} kernel to forward to`);
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const wasm = backend as unknown as DataBackend;
        const cpu = tf.engine().findBackend('cpu') as unknown as DataBackend;
        // Einsum passes its inputs as an array; the others as a named map. Keep whichever shape came in.
        const cpuInputs = (Array.isArray(inputs) ? [] : {}) as tf.NamedTensorInfoMap;
        for (const [name, t] of Object.entries(inputs)) {
          if (!t) continue;
          cpuInputs[name] = {
            dataId: cpu.write(wasm.readSync(t.dataId), t.shape, t.dtype),
            shape: t.shape,
            dtype: t.dtype,
          };
        }
        try {
          const out = cpuKernel.kernelFunc({
            inputs: cpuInputs,
            attrs,
            backend: cpu as unknown as tf.KernelBackend,
          });
          const moveBack = (o: tf.TensorInfo): tf.TensorInfo => {
            const dataId = wasm.write(cpu.readSync(o.dataId), o.shape, o.dtype);
            cpu.disposeData(o.dataId, true);
            return { dataId, shape: o.shape, dtype: o.dtype };
          };
          return Array.isArray(out) ? out.map(moveBack) : moveBack(out);
        } finally {
          for (const t of Object.values(cpuInputs)) if (t) cpu.disposeData(t.dataId, true);
        }
      },
    });
  }
}
