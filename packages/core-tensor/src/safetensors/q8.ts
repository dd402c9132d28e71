import { dequantizeQ8, quantizeQ8, type WeightDType } from '../onnx/quantize.js';
import { roundToF16, type SafetensorsDtype } from './dtypes.js';
import { SafetensorsError } from './errors.js';

/**
 * q8 weight files: each matrix weight `X.weight` is stored as I8 (symmetric, one scale per row = output channel,
 * zero point 0) with its float32 scales beside it as `X.weight_scale`, shaped [rows, 1, …] so that
 * `weight * weight_scale` broadcasts back to the weight in numpy or PyTorch (compressed-tensors' names for an
 * int8 channel-wise checkpoint). Everything else (biases, LayerNorms, ViT's position embeddings and [CLS]) stays
 * float32. The rounding is onnx/quantize.ts', the one the native engine's q8 graphs use.
 */
export const SCALE_SUFFIX = '_scale';

/** The tensors a q8 file stores as int8: Linear [out, in], Conv2d [out, in, kh, kw] and Embedding [vocab, dim]. */
export function isQ8Weight(name: string, shape: readonly number[]): boolean {
  return name.endsWith('.weight') && shape.length >= 2 && shape.every((d) => d > 0);
}

/** A matrix weight quantised as a q8 file stores it (rows = output channels). */
export function q8Of(data: Float32Array, shape: readonly number[]) {
  const rows = shape[0] as number;
  return quantizeQ8(data, rows, data.length / rows);
}

/** [rows, 1, …]: the scale tensor's shape, which broadcasts against the weight's. */
export const q8ScaleShape = (shape: readonly number[]): number[] => [
  shape[0] as number,
  ...shape.slice(1).map(() => 1),
];

type Raw = Float32Array | Int32Array | Int8Array;
export interface StoredEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}
type Emit = (entry: StoredEntry, data: Float32Array | Int32Array) => void;

/**
 * Turns the tensors of a file (or of all its shards), visited one by one, into float32/int32 weights at the
 * precision asked for: q8 pairs (I8 weight + its `_scale`) are dequantised as soon as both have been read; with
 * `as` 'fp16' float32 values are rounded to half, with 'q8' matrix weights are quantised and dequantised, so a
 * folder that only has fp32 weights gives the numbers a reduced-precision download would. `finish()` reports
 * an int8 weight whose scale never came.
 */
export class StoredWeights {
  private readonly ints = new Map<string, { entry: StoredEntry; q: Int8Array; source: string }>();
  private readonly scales = new Map<string, { entry: StoredEntry; data: Float32Array | Int32Array }>();
  /** Names read as something other than I8, to catch a scale beside a float weight. */
  private readonly plain = new Map<string, SafetensorsDtype>();

  constructor(
    /** The file being read (set to each shard in turn), for the errors. */
    public source: string,
    private readonly emit: Emit,
    private readonly as: WeightDType = 'fp32',
  ) {}

  add(entry: StoredEntry, raw: Raw): void {
    const { name } = entry;
    if (raw instanceof Int8Array) {
      const scale = this.scales.get(name + SCALE_SUFFIX);
      if (scale) {
        this.scales.delete(name + SCALE_SUFFIX);
        this.dequantize(entry, raw, scale.entry, scale.data);
        return;
      }
      this.ints.set(name, { entry, q: raw, source: this.source });
      return;
    }
    if (name.endsWith(SCALE_SUFFIX)) {
      const base = name.slice(0, -SCALE_SUFFIX.length);
      const q = this.ints.get(base);
      if (q) {
        this.ints.delete(base);
        this.dequantize(q.entry, q.q, entry, raw);
        return;
      }
      if (this.plain.has(base)) this.notInt8(base, this.plain.get(base)!, name);
      this.scales.set(name, { entry, data: raw });
      return;
    }
    const scale = this.scales.get(name + SCALE_SUFFIX);
    if (scale) this.notInt8(name, entry.dtype, scale.entry.name);
    this.plain.set(name, entry.dtype);
    this.emit(entry, raw instanceof Float32Array ? this.atPrecision(entry, raw) : raw);
  }

  /** After the last tensor: a q8 weight without its scale is an error; a lone `…_scale` was a plain tensor. */
  finish(): void {
    for (const { entry, source } of this.ints.values())
      throw new SafetensorsError(
        'MISSING_SCALE',
        source,
        `I8 weight without its scale tensor "${entry.name}${SCALE_SUFFIX}" (a q8 file stores both)`,
        entry.name,
      );
    for (const { entry, data } of this.scales.values())
      this.emit(entry, data instanceof Float32Array ? this.atPrecision(entry, data) : data);
    this.scales.clear();
  }

  private notInt8(name: string, dtype: SafetensorsDtype, scale: string): never {
    throw new SafetensorsError(
      'BAD_DTYPE',
      this.source,
      `has a q8 scale "${scale}" but is stored as ${dtype}; a q8 weight is I8`,
      name,
    );
  }

  private dequantize(
    entry: StoredEntry,
    q: Int8Array,
    scaleEntry: StoredEntry,
    scale: Float32Array | Int32Array,
  ): void {
    const rows = entry.shape[0] ?? 0;
    const fail = (code: 'BAD_DTYPE' | 'BAD_SHAPE', msg: string): never => {
      throw new SafetensorsError(code, this.source, msg, scaleEntry.name);
    };
    if (!(scale instanceof Float32Array))
      fail('BAD_DTYPE', `a q8 scale must be a float tensor (F32), got ${scaleEntry.dtype}`);
    if (entry.shape.length < 2 || scale.length !== rows || scaleEntry.shape[0] !== rows)
      fail(
        'BAD_SHAPE',
        `shape [${scaleEntry.shape}] does not give one scale per row of "${entry.name}" [${entry.shape}]`,
      );
    const data = dequantizeQ8({ q, scale: scale as Float32Array }, rows, q.length / rows);
    this.emit(entry, data);
  }

  private atPrecision(entry: StoredEntry, data: Float32Array): Float32Array {
    if (this.as === 'fp16' && entry.dtype === 'F32') return roundToF16(data);
    if (this.as === 'q8' && isQ8Weight(entry.name, entry.shape)) {
      const rows = entry.shape[0] as number;
      return dequantizeQ8(quantizeQ8(data, rows, data.length / rows), rows, data.length / rows);
    }
    return data;
  }
}
