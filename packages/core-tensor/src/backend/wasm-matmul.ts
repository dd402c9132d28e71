import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-wasm multiplies through XNNPACK only when neither operand is transposed and the batch is 1;
 * anything else (attention's q·kᵀ and p·v, every matmul of backpropagation) falls into a plain C++ loop
 * that runs ~7–10× slower. This replacement keeps every product on XNNPACK:
 *   - a transposed operand is materialised first (tfjs-wasm's Transpose is fast),
 *   - a batch is run matrix by matrix through the same wasm entry point, on views of the operands
 *     (tensor ids registered at offsets into the existing buffers: nothing is copied),
 *   - `[batch, m, k] · [1, k, n]` is one `[1, batch·m, k] · [1, k, n]` product,
 *   - batch dimensions broadcast like numpy's (tfjs-wasm's own loop reads past `a` for [2,1,…]·[1,3,…]).
 * The numbers are XNNPACK's, identical to the batch-1 path tfjs already takes for 2-D matmuls.
 */

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];
type WasmMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackend extends tf.KernelBackend {
  wasm: {
    cwrap(name: string, ret: null, args: string[]): WasmMatMul;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const FLOAT_BYTES = 4;
let installed = false;

export function registerWasmBatchMatMul(): void {
  if (installed) return;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!original || !transpose) return;
  installed = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args: KernelArgs) => {
      const backend = args.backend as WasmBackend;
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const a0 = args.inputs.a as tf.TensorInfo;
      const b0 = args.inputs.b as tf.TensorInfo;
      if (a0.dtype !== 'float32' || b0.dtype !== 'float32') return original.kernelFunc(args);
      // A single untransposed product is tfjs's XNNPACK path already, with the operator cached on b (a weight).
      const single = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;
      if (!transposeA && !transposeB && single(a0) && single(b0)) return original.kernelFunc(args);
      const temps: tf.TensorInfo[] = [];
      const swapLastTwo = (x: tf.TensorInfo) => {
        const r = x.shape.length;
        const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
        temps.push(transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo);
        return temps[temps.length - 1]!;
      };
      try {
        const a = transposeA ? swapLastTwo(a0) : a0;
        const b = transposeB ? swapLastTwo(b0) : b0;
        const plainAttrs = { ...args.attrs, transposeA: false, transposeB: false };
        return (
          batchedProduct(backend, a, b) ??
          original.kernelFunc({ ...args, inputs: { a, b }, attrs: plainAttrs })
        );
      } finally {
        for (const t of temps) backend.disposeData(t.dataId);
      }
    },
  });
}

const entryPoints = new WeakMap<WasmBackend, WasmMatMul>();

/** tfjs-wasm's exported C entry point (it takes rank-3 shapes, no transposes: its XNNPACK path at batch 1). */
function entryPoint(backend: WasmBackend): WasmMatMul {
  let matmul = entryPoints.get(backend);
  if (!matmul) {
    const [id, shape, rank, flag] = ['number', 'array', 'number', 'number'];
    matmul = backend.wasm.cwrap('BatchMatMul', null, [id, shape, rank, id, shape, rank, flag, flag, id]);
    entryPoints.set(backend, matmul);
  }
  return matmul;
}

/** a [...batchA, m, k] · b [...batchB, k, n], no transposes, batches broadcast; null for an empty product. */
function batchedProduct(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | null {
  const matmul = entryPoint(backend);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  if (b.shape[b.shape.length - 2] !== k)
    throw new Error(`BatchMatMul: inner dimensions of [${a.shape}] and [${b.shape}] differ`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const batch = tf.util.sizeFromShape(outBatch);
  if (batch * m * k * n === 0) return null; // empty products: tfjs's kernel fills the zeros

  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  const aBase = backend.dataIdMap.get(a.dataId).memoryOffset;
  const bBase = backend.dataIdMap.get(b.dataId).memoryOffset;
  const outBase = backend.dataIdMap.get(out.dataId).memoryOffset;
  const run = (aOffset: number, rows: number, bOffset: number, outOffset: number) => {
    const ids = [rows * k, k * n, rows * n].map((size, i) => {
      const id = backend.dataIdNextNumber++;
      backend.wasm.tfjs.registerTensor(id, size, [aOffset, bOffset, outOffset][i]!);
      return id;
    }) as [number, number, number];
    try {
      matmul(ids[0], shapeBytes([1, rows, k]), 3, ids[1], shapeBytes([1, k, n]), 3, false, false, ids[2]);
    } finally {
      // Disposing the view of b also frees the XNNPACK operator tfjs cached on its id.
      for (const id of ids) backend.wasm.tfjs.disposeData(id);
    }
  };
  if (tf.util.sizeFromShape(bBatch) === 1) {
    // Every matrix of a meets the same b: one tall product.
    run(aBase, batch * m, bBase, outBase);
  } else {
    const aIndex = batchIndex(aBatch, outBatch);
    const bIndex = batchIndex(bBatch, outBatch);
    for (let i = 0; i < batch; i++)
      run(
        aBase + aIndex(i) * m * k * FLOAT_BYTES,
        m,
        bBase + bIndex(i) * k * n * FLOAT_BYTES,
        outBase + i * m * n * FLOAT_BYTES,
      );
  }
  return out;
}

/** Maps the i-th matrix of the broadcast batch `outBatch` to the matrix of `batch` it reads (size-1 dims repeat). */
function batchIndex(batch: number[], outBatch: number[]): (i: number) => number {
  const dims = [...Array(outBatch.length - batch.length).fill(1), ...batch] as number[];
  return (i) => {
    let index = 0;
    for (let d = 0; d < outBatch.length; d++) {
      const stride = tf.util.sizeFromShape(outBatch.slice(d + 1));
      const coord = Math.floor(i / stride) % outBatch[d]!;
      index = index * dims[d]! + (dims[d] === 1 ? 0 : coord);
    }
    return index;
  };
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}
