/**
 * A pipeline's numeric output on the host, shaped as transformers.js' Tensor (`dims`, `data`, `tolist()`), so
 * code written for transformers.js reads it unchanged. It holds no tfjs memory: nothing to dispose.
 */
export class Tensor {
  readonly type = 'float32';
  constructor(
    readonly data: Float32Array,
    readonly dims: number[],
  ) {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length)
      throw new RangeError(`Tensor: dims [${dims}] hold ${size} values, data has ${data.length}`);
  }

  get size(): number {
    return this.data.length;
  }

  /** Nested arrays in `dims` order (row-major, as `data`). */
  tolist(): unknown[] {
    const build = (axis: number, offset: number): unknown[] => {
      const n = this.dims[axis]!;
      if (axis === this.dims.length - 1) return Array.from(this.data.subarray(offset, offset + n));
      const stride = this.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: n }, (_, i) => build(axis + 1, offset + i * stride));
    };
    return this.dims.length === 0 ? [this.data[0]] : build(0, 0);
  }
}
