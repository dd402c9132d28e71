/**
 * q8: per-channel symmetric int8 weights (one scale per output channel, zero point 0), as onnxruntime's
 * `quantize_dynamic(per_channel=True, weight_type=QInt8)` and transformers.js' `model_quantized.onnx` have them.
 * Defined once here: the ONNX Linear, the stored q8 weight files and tfjs' dequantising loader all use it.
 */

/** Weight precisions a model can run or be stored at (transformers.js' `dtype` names). */
export type WeightDType = 'fp32' | 'fp16' | 'q8';
export const WEIGHT_DTYPES: readonly WeightDType[] = ['fp32', 'fp16', 'q8'];

export interface Q8Tensor {
  /** int8 values, row-major in the input's layout ([out, in] for a Linear weight). */
  q: Int8Array;
  /** One scale per row (output channel): w ≈ q · scale. */
  scale: Float32Array;
}

/**
 * Quantises a [rows, cols] matrix row by row: scale = max|w| / 127, q = round(w / scale), so the int8 range is
 * symmetric (−127…127) and 0 maps to 0 exactly. An all-zero row gets scale 1 (any scale reproduces it).
 */
export function quantizeQ8(data: Float32Array, rows: number, cols: number): Q8Tensor {
  if (data.length !== rows * cols)
    throw new RangeError(`quantizeQ8: ${data.length} values for [${rows}, ${cols}]`);
  const q = new Int8Array(data.length);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(data[o + c]));
    const s = max > 0 ? Math.fround(max / 127) : 1;
    scale[r] = s;
    for (let c = 0; c < cols; c++) q[o + c] = Math.max(-127, Math.min(127, Math.round(data[o + c] / s)));
  }
  return { q, scale };
}

/** The float32 values a q8 matrix stands for (w = q · scale of its row). */
export function dequantizeQ8(t: Q8Tensor, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = t.scale[r];
    for (let c = 0, o = r * cols; c < cols; c++) out[o + c] = t.q[o + c] * s;
  }
  return out;
}

/** [rows, cols] → [cols, rows], for the int8 B operand of MatMulInteger. */
export function transposeInt8(q: Int8Array, rows: number, cols: number): Int8Array {
  const t = new Int8Array(q.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = q[r * cols + c];
  return t;
}
