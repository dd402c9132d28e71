/**
 * A tiny ONNX graph builder and ModelProto encoder (the subset of onnx.proto that inference graphs need:
 * nodes, attributes, initializers with raw data, typed inputs/outputs with symbolic dims, opset imports,
 * metadata). Field numbers follow onnx/onnx.proto; see `encodeModel`.
 */
import { ProtoWriter } from './protobuf.js';

/** ONNX TensorProto.DataType codes for the element types we emit. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
} as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;

/** A dimension: a fixed size or a symbolic name (`'batch'`, `'sequence'`) for a dynamic axis. */
export type OnnxDim = number | string;

/** float16 data is given as its IEEE half bit patterns (Uint16Array). */
type TypedData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

/** Attribute values. Plain numbers are INT; wrap floats with `onnxFloat` (1.0 would otherwise be ambiguous). */
export type OnnxAttr = number | number[] | string | OnnxFloat | OnnxFloats;
export class OnnxFloat {
  constructor(readonly value: number) {}
}
export class OnnxFloats {
  constructor(readonly values: number[]) {}
}
export const onnxFloat = (v: number) => new OnnxFloat(v);
export const onnxFloats = (v: number[]) => new OnnxFloats(v);

/** A node as the graph holds it (read by graph transforms such as `appendGradients`). */
export interface OnnxNodeDef {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, OnnxAttr>;
}
type NodeDef = OnnxNodeDef;
/** A typed graph input or output. */
export interface OnnxValueDef {
  name: string;
  dtype: OnnxDType;
  dims: OnnxDim[];
}
type ValueDef = OnnxValueDef;
/** An initializer: a weight or constant stored in the file. */
export interface OnnxInitDef {
  name: string;
  dtype: OnnxDType;
  dims: number[];
  data: TypedData;
}

type InitDef = OnnxInitDef;

export class OnnxGraphError extends Error {
  override readonly name = 'OnnxGraphError';
}

export interface EncodeOptions {
  opset?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** `metadata_props` of the model (shown by Netron, readable by onnxruntime). */
  metadata?: Record<string, string>;
}

/**
 * Builds a graph node by node. Names are SSA values: every `node()` returns fresh output names.
 * Usage: `const y = g.node('MatMul', [x, g.initializer('w', 'float32', [4, 2], data)])`.
 */
export class OnnxGraph {
  private readonly nodes: NodeDef[] = [];
  private readonly inputs: ValueDef[] = [];
  private readonly outputs: ValueDef[] = [];
  private readonly inits = new Map<string, InitDef>();
  private readonly produced = new Set<string>();
  private counter = 0;
  private trainingMode?: string;
  /**
   * A training graph: `dropout` emits ONNX Dropout in training mode (its mask output kept for the backward).
   * An inference graph (the default, every export) has no dropout.
   */
  training = false;

  constructor(readonly name = 'graph') {}

  /**
   * Inverted dropout of x at `rate`, as a module's forward in training mode applies it (`active`: that
   * module's `training`): ONNX Dropout with training_mode = true in a training graph, x itself otherwise.
   */
  dropout(x: string, rate: number, active = true): string {
    if (!this.training || !active || rate === 0) return x;
    this.trainingMode ??= this.initializer(this.fresh('training_mode'), 'bool', [], Uint8Array.of(1));
    return this.nodeN('Dropout', [x, this.constFloat([rate], []), this.trainingMode], {}, 2)[0]!;
  }

  input(name: string, dtype: OnnxDType, dims: OnnxDim[]): string {
    this.claim(name);
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  /** A weight or constant stored in the file. `data.length` must equal the product of `dims`. */
  initializer(name: string, dtype: OnnxDType, dims: number[], data: TypedData): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size)
      throw new OnnxGraphError(
        `initializer "${name}": ${data.length} values for shape [${dims}] (${size} expected)`,
      );
    this.claim(name);
    this.inits.set(name, { name, dtype, dims, data });
    return name;
  }

  /** A small constant (an int64 shape, a float scalar) with an automatic name. */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    return this.initializer(this.fresh('const'), 'int64', dims, BigInt64Array.from(values.map(BigInt)));
  }
  constFloat(values: number[], dims: number[] = [values.length]): string {
    return this.initializer(this.fresh('const'), 'float32', dims, Float32Array.from(values));
  }

  /** Appends a node; returns its output names (one unless `outputs` says more). */
  nodeN(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, outputs = 1): string[] {
    for (const i of inputs)
      if (i !== '' && !this.produced.has(i))
        throw new OnnxGraphError(
          `node ${opType}: input "${i}" is not defined by any earlier input, initializer or node`,
        );
    for (const [k, v] of Object.entries(attrs))
      if (typeof v === 'number' && !Number.isInteger(v))
        throw new OnnxGraphError(
          `node ${opType}: attribute "${k}" = ${v} is not an integer; wrap floats in onnxFloat()`,
        );
    const name = this.fresh(opType);
    const outs = Array.from({ length: outputs }, (_, k) => (outputs === 1 ? name : `${name}_${k}`));
    for (const o of outs) this.claim(o);
    this.nodes.push({ opType, inputs, outputs: outs, name, attrs });
    return outs;
  }
  node(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}): string {
    return this.nodeN(opType, inputs, attrs, 1)[0];
  }

  /** Declares a graph output under a public name (an Identity node renames the value). */
  output(publicName: string, value: string, dtype: OnnxDType, dims: OnnxDim[]): void {
    if (!this.produced.has(value))
      throw new OnnxGraphError(`output "${publicName}": value "${value}" is undefined`);
    this.claim(publicName);
    this.nodes.push({
      opType: 'Identity',
      inputs: [value],
      outputs: [publicName],
      name: `${publicName}_identity`,
      attrs: {},
    });
    this.outputs.push({ name: publicName, dtype, dims });
  }

  get inputNames(): string[] {
    return this.inputs.map((v) => v.name);
  }
  get outputNames(): string[] {
    return this.outputs.map((v) => v.name);
  }

  /** The nodes in order, the inputs and the initializers: a read-only view for graph transforms. */
  get nodeDefs(): readonly OnnxNodeDef[] {
    return this.nodes;
  }
  get inputDefs(): readonly OnnxValueDef[] {
    return this.inputs;
  }
  initializerDef(name: string): OnnxInitDef | undefined {
    return this.inits.get(name);
  }

  /** Number of float values held by initializers (for reporting). */
  get parameterCount(): number {
    let n = 0;
    for (const i of this.inits.values()) n += i.data.length;
    return n;
  }

  /** Encodes an ONNX ModelProto. The result's chunks reference the initializers' memory (no copy). */
  encode(opts: EncodeOptions = {}): ProtoWriter {
    const graph = new ProtoWriter();
    for (const n of this.nodes) graph.message(1, encodeNode(n)); // GraphProto.node = 1
    graph.string(2, this.name); // name = 2
    for (const i of this.inits.values()) graph.message(5, encodeTensor(i)); // initializer = 5
    for (const v of this.inputs) graph.message(11, encodeValueInfo(v)); // input = 11
    for (const v of this.outputs) graph.message(12, encodeValueInfo(v)); // output = 12

    const model = new ProtoWriter();
    model.varint(1, 8); // ir_version = 1 (IR v8 goes with opset 17)
    model.string(2, opts.producerName ?? 'attn'); // producer_name = 2
    if (opts.producerVersion) model.string(3, opts.producerVersion); // producer_version = 3
    if (opts.docString) model.string(6, opts.docString); // doc_string = 6
    model.message(7, graph); // graph = 7
    model.message(8, new ProtoWriter().string(1, '').varint(2, opts.opset ?? 17)); // opset_import = 8
    for (const [k, v] of Object.entries(opts.metadata ?? {}))
      model.message(14, new ProtoWriter().string(1, k).string(2, v)); // metadata_props = 14
    return model;
  }

  private claim(name: string): void {
    if (this.produced.has(name)) throw new OnnxGraphError(`value name "${name}" is defined twice`);
    this.produced.add(name);
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.produced.has(name));
    return name;
  }
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i); // NodeProto.input = 1
  for (const o of n.outputs) w.string(2, o); // output = 2
  w.string(3, n.name); // name = 3
  w.string(4, n.opType); // op_type = 4
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, encodeAttr(k, v)); // attribute = 5
  return w;
}

// AttributeProto: name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20.
// AttributeType: FLOAT = 1, INT = 2, STRING = 3, FLOATS = 6, INTS = 7.
function encodeAttr(name: string, v: OnnxAttr): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (v instanceof OnnxFloat) return w.float(2, v.value).varint(20, 1);
  if (v instanceof OnnxFloats) {
    for (const f of v.values) w.float(7, f);
    return w.varint(20, 6);
  }
  if (typeof v === 'string') return w.string(4, v).varint(20, 3);
  if (Array.isArray(v)) {
    for (const i of v) w.varint(8, i);
    return w.varint(20, 7);
  }
  if (!Number.isInteger(v))
    throw new OnnxGraphError(`attribute "${name}": ${v} is not an integer; wrap floats in onnxFloat()`);
  return w.varint(3, v).varint(20, 2);
}

// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian, as every platform we run on).
function encodeTensor(t: InitDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, ONNX_DTYPE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

// ValueInfoProto { name = 1, type = 2 }, TypeProto { tensor_type = 1 }, TypeProto.Tensor { elem_type = 1, shape = 2 },
// TensorShapeProto { dim = 1 }, Dimension { dim_value = 1, dim_param = 2 }.
function encodeValueInfo(v: ValueDef): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims)
    shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().varint(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}
