/**
 * Reverse-mode differentiation of an `OnnxGraph`: appends to the graph the nodes that compute the gradient
 * of a scalar with respect to chosen values (a module's parameters, fed as graph inputs), op by op from each
 * op's gradient rule, in standard ONNX ops that onnxruntime's inference session runs. The forward is the
 * module's own `toOnnx`; nothing model-specific lives here.
 *
 * Gradients need static shapes (a broadcast Add reduces its gradient to the operand's shape), so the graph
 * is differentiated for given input shapes: `inferShapes` propagates them, folding the small integer
 * values (Shape → Gather → Concat → Reshape) that the graphs compute their shapes with.
 */
import {
  ONNX_DTYPE,
  type OnnxAttr,
  type OnnxDType,
  OnnxFloat,
  type OnnxGraph,
  OnnxGraphError,
  type OnnxNodeDef,
} from './graph.js';

/** What shape inference knows of a value: its dtype, its static shape, and small constant values. */
export interface OnnxValueInfo {
  dtype: OnnxDType;
  shape: number[];
  /** The elements, row-major, for small integer or float values whose content is known at build time. */
  value?: number[];
}

const DTYPE_OF_CODE = new Map<number, OnnxDType>(
  Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as OnnxDType]),
);
const FOLD_LIMIT = 64;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const isFloat = (d: OnnxDType) => d === 'float32' || d === 'float16';
const attrInt = (n: OnnxNodeDef, k: string, dflt: number): number =>
  typeof n.attrs[k] === 'number' ? (n.attrs[k] as number) : dflt;
const attrInts = (n: OnnxNodeDef, k: string): number[] | undefined => n.attrs[k] as number[] | undefined;
const attrFloat = (n: OnnxNodeDef, k: string, dflt: number): number => {
  const a: OnnxAttr | undefined = n.attrs[k];
  return a instanceof OnnxFloat ? a.value : typeof a === 'number' ? a : dflt;
};
const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function broadcast(op: string, a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[i - r + a.length] ?? 1;
    const y = b[i - r + b.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new OnnxGraphError(`${op}: shapes [${a}] and [${b}] do not broadcast`);
    return x === 1 ? y : x;
  });
}

/** Element `i` of a value broadcast to `out` (row-major), for folding small elementwise ops. */
function broadcastAt(v: OnnxValueInfo, out: number[], i: number): number {
  let idx = 0;
  let stride = 1;
  let rest = i;
  const off = out.length - v.shape.length;
  const coords = out.map(() => 0);
  for (let d = out.length - 1; d >= 0; d--) {
    coords[d] = rest % out[d]!;
    rest = Math.floor(rest / out[d]!);
  }
  for (let d = v.shape.length - 1; d >= 0; d--) {
    const c = v.shape[d] === 1 ? 0 : coords[d + off]!;
    idx += c * stride;
    stride *= v.shape[d]!;
  }
  return v.value![idx]!;
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Max: Math.max,
  Min: Math.min,
  Pow: (a, b) => a ** b,
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  Greater: (a, b) => Number(a > b),
};
const UNARY = new Set([
  'Identity',
  'Erf',
  'Tanh',
  'Relu',
  'Neg',
  'Sqrt',
  'Exp',
  'Log',
  'Reciprocal',
  'Not',
  'Softmax',
  'LogSoftmax',
  'Round',
]);

/**
 * Static dtype and shape of every value of `g` for the given input shapes (inputs with numeric dims need
 * none). Throws an OnnxGraphError naming the node for an op it does not know.
 */
export function inferShapes(
  g: OnnxGraph,
  inputShapes: Record<string, number[]> = {},
): Map<string, OnnxValueInfo> {
  const info = new Map<string, OnnxValueInfo>();
  for (const v of g.inputDefs) {
    const shape = inputShapes[v.name] ?? v.dims;
    if (shape.length !== v.dims.length || shape.some((d) => typeof d !== 'number'))
      throw new OnnxGraphError(
        `input "${v.name}": needs a static shape (dims [${v.dims}], given [${shape}])`,
      );
    info.set(v.name, { dtype: v.dtype, shape: shape as number[] });
  }
  const get = (n: OnnxNodeDef, name: string): OnnxValueInfo => {
    const known = info.get(name);
    if (known) return known;
    const init = g.initializerDef(name);
    if (!init) throw new OnnxGraphError(`node ${n.name} (${n.opType}): input "${name}" has no known shape`);
    const v: OnnxValueInfo = { dtype: init.dtype, shape: [...init.dims] };
    if (init.data.length <= FOLD_LIMIT && init.dtype !== 'float16')
      v.value = Array.from(init.data as ArrayLike<number | bigint>, Number);
    info.set(name, v);
    return v;
  };
  for (const n of g.nodeDefs) {
    const ins = n.inputs.map((i) => (i === '' ? undefined : get(n, i)));
    const outs = inferNode(n, ins);
    n.outputs.forEach((o, k) => {
      if (outs[k]) info.set(o, outs[k]!);
    });
  }
  return info;
}

function needValue(n: OnnxNodeDef, v: OnnxValueInfo | undefined, what: string): number[] {
  if (!v?.value)
    throw new OnnxGraphError(`node ${n.name} (${n.opType}): ${what} must be known when the graph is built`);
  return v.value;
}

function inferNode(n: OnnxNodeDef, ins: (OnnxValueInfo | undefined)[]): OnnxValueInfo[] {
  const x = ins[0]!;
  const op = n.opType;
  if (UNARY.has(op))
    return [
      {
        ...x,
        value:
          op === 'Identity' || op === 'Neg'
            ? x.value && (op === 'Neg' ? x.value.map((a) => -a) : x.value)
            : undefined,
      },
    ];
  const bin = BINARY[op];
  if (bin) {
    const y = ins[1]!;
    const shape = broadcast(`node ${n.name} (${op})`, x.shape, y.shape);
    const dtype = ['Equal', 'Less', 'Greater'].includes(op) ? 'bool' : x.dtype;
    const out: OnnxValueInfo = { dtype, shape };
    if (x.value && y.value && size(shape) <= FOLD_LIMIT) {
      const intDiv = op === 'Div' && !isFloat(x.dtype);
      out.value = Array.from({ length: size(shape) }, (_, i) => {
        const r = bin(broadcastAt(x, shape, i), broadcastAt(y, shape, i));
        return intDiv ? Math.trunc(r) : r;
      });
    }
    return [out];
  }
  switch (op) {
    case 'Shape':
      return [{ dtype: 'int64', shape: [x.shape.length], value: [...x.shape] }];
    case 'Cast': {
      const dtype = DTYPE_OF_CODE.get(attrInt(n, 'to', 1));
      if (!dtype) throw new OnnxGraphError(`node ${n.name} (Cast): unsupported target type ${n.attrs.to}`);
      return [{ dtype, shape: x.shape, value: x.value }];
    }
    case 'Gather': {
      const idx = ins[1]!;
      const a = normAxis(attrInt(n, 'axis', 0), x.shape.length);
      const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
      const out: OnnxValueInfo = { dtype: x.dtype, shape };
      if (x.value && idx.value && x.shape.length === 1)
        out.value = idx.value.map((i) => x.value![i < 0 ? i + x.shape[0]! : i]!);
      return [out];
    }
    case 'Range': {
      const [s, l, d] = [0, 1, 2].map((k) => needValue(n, ins[k], `input ${k}`)[0]!);
      const count = Math.max(Math.ceil((l! - s!) / d!), 0);
      const out: OnnxValueInfo = { dtype: x.dtype, shape: [count] };
      if (count <= FOLD_LIMIT) out.value = Array.from({ length: count }, (_, i) => s! + i * d!);
      return [out];
    }
    case 'Unsqueeze': {
      const r = x.shape.length + needValue(n, ins[1], 'axes').length;
      const axes = needValue(n, ins[1], 'axes').map((a) => normAxis(a, r));
      const shape: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) shape.push(axes.includes(i) ? 1 : x.shape[k++]!);
      return [{ dtype: x.dtype, shape, value: x.value }];
    }
    case 'Squeeze': {
      const axes = ins[1]
        ? needValue(n, ins[1], 'axes').map((a) => normAxis(a, x.shape.length))
        : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)), value: x.value }];
    }
    case 'Transpose': {
      const perm = attrInts(n, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
    }
    case 'Reshape': {
      const want = needValue(n, ins[1], 'the target shape');
      const shape = want.map((d, i) => (d === 0 ? x.shape[i]! : d));
      const minus = shape.indexOf(-1);
      if (minus >= 0) shape[minus] = size(x.shape) / -size(shape);
      if (size(shape) !== size(x.shape))
        throw new OnnxGraphError(`node ${n.name} (Reshape): [${x.shape}] cannot become [${want}]`);
      return [{ dtype: x.dtype, shape, value: x.value }];
    }
    case 'MatMul': {
      const y = ins[1]!;
      if (x.shape.length < 2 || y.shape.length < 2)
        throw new OnnxGraphError(`node ${n.name} (MatMul): 1-D operands are not supported`);
      if (x.shape.at(-1) !== y.shape.at(-2))
        throw new OnnxGraphError(`node ${n.name} (MatMul): [${x.shape}] × [${y.shape}]`);
      const lead = broadcast(`node ${n.name} (MatMul)`, x.shape.slice(0, -2), y.shape.slice(0, -2));
      return [{ dtype: x.dtype, shape: [...lead, x.shape.at(-2)!, y.shape.at(-1)!] }];
    }
    case 'Gemm': {
      const y = ins[1]!;
      const m = attrInt(n, 'transA', 0) ? x.shape[1]! : x.shape[0]!;
      const k = attrInt(n, 'transB', 0) ? y.shape[0]! : y.shape[1]!;
      return [{ dtype: x.dtype, shape: [m, k] }];
    }
    case 'Concat': {
      const a = normAxis(attrInt(n, 'axis', 0), x.shape.length);
      const shape = [...x.shape];
      shape[a] = ins.reduce((s, v) => s + v!.shape[a]!, 0);
      const out: OnnxValueInfo = { dtype: x.dtype, shape };
      if (x.shape.length === 1 && ins.every((v) => v!.value)) out.value = ins.flatMap((v) => v!.value!);
      return [out];
    }
    case 'Slice': {
      const { starts, ends, axes, steps } = sliceParams(n, ins);
      const shape = [...x.shape];
      axes.forEach((a, k) => {
        if (steps[k] !== 1) throw new OnnxGraphError(`node ${n.name} (Slice): steps other than 1`);
        shape[a] = Math.max(ends[k]! - starts[k]!, 0);
      });
      return [{ dtype: x.dtype, shape }];
    }
    case 'Expand': {
      const want = needValue(n, ins[1], 'the target shape');
      return [{ dtype: x.dtype, shape: broadcast(`node ${n.name} (Expand)`, x.shape, want) }];
    }
    case 'Where': {
      const shape = broadcast(
        `node ${n.name} (Where)`,
        x.shape,
        broadcast(`node ${n.name} (Where)`, ins[1]!.shape, ins[2]!.shape),
      );
      return [{ dtype: ins[1]!.dtype, shape }];
    }
    case 'Conv': {
      const w = ins[1]!;
      const k = attrInts(n, 'kernel_shape') ?? w.shape.slice(2);
      const s = attrInts(n, 'strides') ?? k.map(() => 1);
      const p = attrInts(n, 'pads') ?? [...k, ...k].map(() => 0);
      const d = attrInts(n, 'dilations') ?? k.map(() => 1);
      const spatial = k.map(
        (kk, i) =>
          Math.floor((x.shape[2 + i]! + p[i]! + p[i + k.length]! - d[i]! * (kk - 1) - 1) / s[i]!) + 1,
      );
      return [{ dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, ...spatial] }];
    }
    case 'LayerNormalization': {
      const a = normAxis(attrInt(n, 'axis', -1), x.shape.length);
      const stat = x.shape.map((d, i) => (i < a ? d : 1));
      return [x, { dtype: 'float32', shape: stat }, { dtype: 'float32', shape: stat }];
    }
    case 'Dropout':
      return [
        { dtype: x.dtype, shape: x.shape },
        { dtype: 'bool', shape: x.shape },
      ];
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax': {
      const axes = reduceAxes(n, ins);
      const keep = attrInt(n, 'keepdims', 1);
      const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
      return [{ dtype: x.dtype, shape }];
    }
    case 'OneHot': {
      const depth = needValue(n, ins[1], 'depth')[0]!;
      const a = normAxis(attrInt(n, 'axis', -1), x.shape.length + 1);
      const shape = [...x.shape];
      shape.splice(a, 0, depth);
      return [{ dtype: ins[2]!.dtype, shape }];
    }
    case 'ScatterND':
      return [{ dtype: x.dtype, shape: x.shape }];
    case 'Sum':
      return [
        {
          dtype: x.dtype,
          shape: ins.reduce((s, v) => broadcast(`node ${n.name} (Sum)`, s, v!.shape), x.shape),
        },
      ];
    default:
      throw new OnnxGraphError(`node ${n.name}: no shape rule for ONNX op ${op}`);
  }
}

/** Axes a reduction runs over (opset 13+ ReduceSum takes them as an input; ReduceMean/Max in opset 17 as an attribute). */
function reduceAxes(n: OnnxNodeDef, ins: (OnnxValueInfo | undefined)[]): number[] {
  const rank = ins[0]!.shape.length;
  const given =
    n.opType === 'ReduceSum' ? (ins[1] ? needValue(n, ins[1], 'axes') : undefined) : attrInts(n, 'axes');
  if (!given || given.length === 0)
    return attrInt(n, 'noop_with_empty_axes', 0) ? [] : ins[0]!.shape.map((_, i) => i);
  return given.map((a) => normAxis(a, rank));
}

function sliceParams(n: OnnxNodeDef, ins: (OnnxValueInfo | undefined)[]) {
  const shape = ins[0]!.shape;
  const rawStarts = needValue(n, ins[1], 'starts');
  const rawEnds = needValue(n, ins[2], 'ends');
  const axes = (ins[3] ? needValue(n, ins[3], 'axes') : rawStarts.map((_, i) => i)).map((a) =>
    normAxis(a, shape.length),
  );
  const steps = ins[4] ? needValue(n, ins[4], 'steps') : axes.map(() => 1);
  const clamp = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const starts = axes.map((a, k) => clamp(rawStarts[k]!, shape[a]!));
  const ends = axes.map((a, k) => clamp(rawEnds[k]!, shape[a]!));
  return { starts, ends, axes, steps };
}

/**
 * Appends to `g` the gradient of the scalar `loss` with respect to each value in `wrt` (float graph inputs,
 * typically parameters), for the input shapes given. Returns the gradient's value name for each value of
 * `wrt` the loss depends on (one it does not reach has no entry). Ops off the path from `wrt` to `loss`
 * (integer shape arithmetic, masks, constants) are never differentiated.
 */
export function appendGradients(
  g: OnnxGraph,
  loss: string,
  wrt: readonly string[],
  inputShapes: Record<string, number[]> = {},
): Map<string, string> {
  const info = inferShapes(g, inputShapes);
  const lossInfo = info.get(loss);
  if (lossInfo?.shape.length !== 0)
    throw new OnnxGraphError(
      `loss "${loss}" must be a scalar value of the graph (shape [${lossInfo?.shape}])`,
    );
  const nodes = [...g.nodeDefs];
  // Values that depend on `wrt` through float ops: only those take gradients.
  const live = new Set(wrt);
  for (const n of nodes)
    if (n.inputs.some((i) => live.has(i)))
      for (const o of n.outputs) if (isFloat(info.get(o)?.dtype ?? 'int64')) live.add(o);
  const d = new Differ(g, info);
  const pending = new Map<string, string[]>([[loss, [g.constFloat([1], [])]]]);
  const add = (value: string, grad: string) => {
    const list = pending.get(value);
    if (list) list.push(grad);
    else pending.set(value, [grad]);
  };
  const total = (value: string): string | undefined => {
    const list = pending.get(value);
    if (!list) return undefined;
    const sum = list.length === 1 ? list[0]! : g.node('Sum', list);
    pending.set(value, [sum]);
    return sum;
  };
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    const dys = n.outputs.map(total);
    if (dys.every((dy) => dy === undefined)) continue;
    const needs = n.inputs.map((i) => i !== '' && live.has(i));
    if (!needs.some(Boolean)) continue;
    const grads = d.rule(n, dys, needs);
    n.inputs.forEach((i, j) => {
      const gr = grads[j];
      if (needs[j] && gr) add(i, gr);
    });
  }
  const out = new Map<string, string>();
  for (const w of wrt) {
    const gr = total(w);
    if (gr) out.set(w, gr);
  }
  return out;
}

/** The gradient rules, one per op type, with the forward's static shapes at hand. */
class Differ {
  constructor(
    private readonly g: OnnxGraph,
    private readonly info: Map<string, OnnxValueInfo>,
  ) {}

  private shape(v: string): number[] {
    const i = this.info.get(v);
    if (!i) throw new OnnxGraphError(`value "${v}" has no inferred shape`);
    return i.shape;
  }

  private n(op: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}): string {
    return this.g.node(op, inputs, attrs);
  }

  /** Sums a gradient of shape `from` down to an operand of shape `to` (undoing numpy broadcasting). */
  private reduceTo(t: string, from: number[], to: number[]): string {
    if (sameShape(from, to)) return t;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    const summed = axes.length ? this.n('ReduceSum', [t, this.g.constInt64(axes)], { keepdims: 1 }) : t;
    return this.n('Reshape', [summed, this.g.constInt64(to)]);
  }

  private toShapeOf(t: string, v: string): string {
    return this.n('Reshape', [t, this.g.constInt64(this.shape(v))]);
  }

  private swapLast(t: string, rank: number): string {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
    return this.n('Transpose', [t], { perm });
  }

  rule(n: OnnxNodeDef, dys: (string | undefined)[], needs: boolean[]): (string | undefined)[] {
    const g = this.g;
    const [a, b] = n.inputs as [string, string];
    const dy = dys[0];
    const fail = (why: string): never => {
      throw new OnnxGraphError(
        `node ${n.name}: no gradient for ONNX op ${n.opType}${why ? ` (${why})` : ''}`,
      );
    };
    if (dy === undefined) {
      // Only an op with several outputs gets here (a LayerNormalization's statistics, Dropout's mask).
      return fail('its first output has no gradient');
    }
    const y = n.outputs[0]!;
    const ys = this.shape(y);
    switch (n.opType) {
      case 'Identity':
        return [dy];
      case 'Cast':
        return [isFloat(this.info.get(a)!.dtype) ? dy : undefined];
      case 'Add':
        return [this.reduceTo(dy, ys, this.shape(a)), this.reduceTo(dy, ys, this.shape(b))];
      case 'Sub':
        return [
          needs[0] ? this.reduceTo(dy, ys, this.shape(a)) : undefined,
          needs[1] ? this.reduceTo(this.n('Neg', [dy]), ys, this.shape(b)) : undefined,
        ];
      case 'Mul':
        return [
          needs[0] ? this.reduceTo(this.n('Mul', [dy, b]), ys, this.shape(a)) : undefined,
          needs[1] ? this.reduceTo(this.n('Mul', [dy, a]), ys, this.shape(b)) : undefined,
        ];
      case 'Div':
        return [
          needs[0] ? this.reduceTo(this.n('Div', [dy, b]), ys, this.shape(a)) : undefined,
          needs[1]
            ? this.reduceTo(this.n('Neg', [this.n('Mul', [dy, this.n('Div', [y, b])])]), ys, this.shape(b))
            : undefined,
        ];
      case 'Sum':
        return n.inputs.map((i) => this.reduceTo(dy, ys, this.shape(i)));
      case 'Neg':
        return [this.n('Neg', [dy])];
      case 'Exp':
        return [this.n('Mul', [dy, y])];
      case 'Sqrt':
        return [this.n('Div', [dy, this.n('Mul', [y, g.constFloat([2], [])])])];
      case 'Tanh':
        return [this.n('Mul', [dy, this.n('Sub', [g.constFloat([1], []), this.n('Mul', [y, y])])])];
      case 'Relu':
        return [this.n('Where', [this.n('Greater', [a, g.constFloat([0], [])]), dy, g.constFloat([0], [])])];
      case 'Erf': {
        // d erf(x)/dx = 2/√π · exp(−x²)
        const e = this.n('Exp', [this.n('Neg', [this.n('Mul', [a, a])])]);
        return [this.n('Mul', [dy, this.n('Mul', [e, g.constFloat([2 / Math.sqrt(Math.PI)], [])])])];
      }
      case 'Softmax': {
        const axis = attrInt(n, 'axis', -1);
        const dot = this.n('ReduceSum', [this.n('Mul', [dy, y]), g.constInt64([axis])], { keepdims: 1 });
        return [this.n('Mul', [y, this.n('Sub', [dy, dot])])];
      }
      case 'LogSoftmax': {
        const axis = attrInt(n, 'axis', -1);
        const s = this.n('ReduceSum', [dy, g.constInt64([axis])], { keepdims: 1 });
        return [this.n('Sub', [dy, this.n('Mul', [this.n('Exp', [y]), s])])];
      }
      case 'MatMul': {
        const as = this.shape(a);
        const bs = this.shape(b);
        const da = needs[0]
          ? this.reduceTo(
              this.n('MatMul', [dy, this.swapLast(b, bs.length)]),
              [...ys.slice(0, -2), as.at(-2)!, as.at(-1)!],
              as,
            )
          : undefined;
        let db: string | undefined;
        if (needs[1] && bs.length === 2 && as.length > 2) {
          // A Linear's weight: fold the leading dims into the rows, one [k, N]ᵀ × [N, n] product.
          const a2 = this.n('Reshape', [a, g.constInt64([-1, as.at(-1)!])]);
          const dy2 = this.n('Reshape', [dy, g.constInt64([-1, ys.at(-1)!])]);
          db = this.n('Gemm', [a2, dy2], { transA: 1 });
        } else if (needs[1])
          db = this.reduceTo(
            this.n('MatMul', [this.swapLast(a, as.length), dy]),
            [...ys.slice(0, -2), bs.at(-2)!, bs.at(-1)!],
            bs,
          );
        return [da, db];
      }
      case 'Gemm': {
        if (n.inputs.length > 2 || attrFloat(n, 'alpha', 1) !== 1)
          return fail('only Gemm(A, B) with alpha 1');
        const tA = attrInt(n, 'transA', 0);
        const tB = attrInt(n, 'transB', 0);
        // Y = op(A)·op(B): dop(A) = dY·op(B)ᵀ, dop(B) = op(A)ᵀ·dY
        const da = needs[0]
          ? tA
            ? this.n('Gemm', [b, dy], { transA: tB, transB: 1 })
            : this.n('Gemm', [dy, b], { transB: 1 - tB })
          : undefined;
        const db = needs[1]
          ? tB
            ? this.n('Gemm', [dy, a], { transA: 1, transB: tA })
            : this.n('Gemm', [a, dy], { transA: 1 - tA })
          : undefined;
        return [da, db];
      }
      case 'Transpose': {
        const perm = attrInts(n, 'perm') ?? ys.map((_, i) => ys.length - 1 - i);
        const inv = perm.map((_, i) => perm.indexOf(i));
        return [this.n('Transpose', [dy], { perm: inv })];
      }
      case 'Reshape':
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Flatten':
        return [this.toShapeOf(dy, a)];
      case 'Expand':
        return [this.reduceTo(dy, ys, this.shape(a))];
      case 'Concat': {
        const axis = normAxis(attrInt(n, 'axis', 0), ys.length);
        let at = 0;
        return n.inputs.map((i, j) => {
          const len = this.shape(i)[axis]!;
          const start = at;
          at += len;
          if (!needs[j]) return undefined;
          return this.n('Slice', [
            dy,
            g.constInt64([start]),
            g.constInt64([start + len]),
            g.constInt64([axis]),
          ]);
        });
      }
      case 'Slice': {
        const xs = this.shape(a);
        const ins = n.inputs.map((i) => (i === '' ? undefined : (this.info.get(i) ?? infoOfInit(this.g, i))));
        const { starts, axes } = sliceParams(n, ins);
        const pads = xs.map(() => 0).concat(xs.map(() => 0));
        axes.forEach((ax, k) => {
          pads[ax] = starts[k]!;
          pads[ax + xs.length] = xs[ax]! - starts[k]! - ys[ax]!;
        });
        return [this.n('Pad', [dy, g.constInt64(pads)])];
      }
      case 'Gather':
        return [this.gatherGrad(n, dy, ys), undefined];
      case 'LayerNormalization':
        return this.layerNormGrad(n, dy, needs);
      case 'Dropout': {
        const ratioInfo = n.inputs[1]
          ? (this.info.get(n.inputs[1]) ?? infoOfInit(g, n.inputs[1]))
          : undefined;
        const ratio = ratioInfo?.value?.[0] ?? 0.5;
        const mask = n.outputs[1];
        if (!mask) return fail('needs its mask output');
        const keep = this.n('Cast', [mask], { to: ONNX_DTYPE.float32 });
        return [this.n('Mul', [dy, this.n('Mul', [keep, g.constFloat([1 / (1 - ratio)], [])])])];
      }
      case 'ReduceSum':
      case 'ReduceMean': {
        const xs = this.shape(a);
        const ins = n.inputs.map((i) => (i === '' ? undefined : (this.info.get(i) ?? infoOfInit(this.g, i))));
        const axes = reduceAxes(n, ins);
        const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
        let gr = this.n('Expand', [this.n('Reshape', [dy, g.constInt64(kept)]), g.constInt64(xs)]);
        if (n.opType === 'ReduceMean')
          gr = this.n('Mul', [gr, g.constFloat([1 / axes.reduce((s, ax) => s * xs[ax]!, 1)], [])]);
        return [gr];
      }
      case 'Conv':
        return this.convGrad(n, dy, needs);
      default:
        return fail('');
    }
  }

  /**
   * Gather along `axis`: the rows picked are scattered back, summed where an index repeats (ScatterND with
   * reduction 'add'), into zeros of the data's shape; the gathered axis goes first and comes back after.
   */
  private gatherGrad(n: OnnxNodeDef, dy: string, ys: number[]): string {
    const g = this.g;
    const [data, indices] = n.inputs as [string, string];
    const xs = this.shape(data);
    const qs = this.shape(indices);
    const axis = normAxis(attrInt(n, 'axis', 0), xs.length);
    const rest = [...xs.slice(0, axis), ...xs.slice(axis + 1)];
    // dy [x<axis, q..., x>axis] → [q..., x<axis, x>axis] → [Q, rest...]
    const qAxes = qs.map((_, i) => axis + i);
    const others = ys.map((_, i) => i).filter((i) => !qAxes.includes(i));
    let upd = qAxes.length && axis > 0 ? this.n('Transpose', [dy], { perm: [...qAxes, ...others] }) : dy;
    upd = this.n('Reshape', [upd, g.constInt64([size(qs), ...rest])]);
    let idx =
      this.info.get(indices)?.dtype === 'int64'
        ? indices
        : this.n('Cast', [indices], { to: ONNX_DTYPE.int64 });
    // Negative indices count from the end, as Gather's do.
    if (!this.info.get(indices)?.value || this.info.get(indices)!.value!.some((v) => v < 0))
      idx = this.n('Where', [
        this.n('Less', [idx, g.constInt64([0], [])]),
        this.n('Add', [idx, g.constInt64([xs[axis]!], [])]),
        idx,
      ]);
    idx = this.n('Reshape', [idx, g.constInt64([size(qs), 1])]);
    const zeros = this.n('Expand', [g.constFloat([0], []), g.constInt64([xs[axis]!, ...rest])]);
    const scattered = this.n('ScatterND', [zeros, idx, upd], { reduction: 'add' });
    if (axis === 0) return scattered;
    // [x_axis, x<axis, x>axis] → data's order
    const perm = xs.map((_, i) => (i < axis ? i + 1 : i === axis ? 0 : i));
    return this.n('Transpose', [scattered], { perm });
  }

  /**
   * LayerNormalization over the last axis. x̂ and 1/σ come from a second LayerNormalization with γ = 1,
   * β = 0 (one pass, its InvStdDev output), instead of recomposing the moments op by op:
   *   dβ = Σ dy,  dγ = Σ dy ⊙ x̂,  dx = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / σ  with g = dy ⊙ γ.
   */
  private layerNormGrad(n: OnnxNodeDef, dy: string, needs: boolean[]): (string | undefined)[] {
    const g = this.g;
    const [x, gamma, beta] = n.inputs as [string, string, string | undefined];
    const xs = this.shape(x);
    const axis = normAxis(attrInt(n, 'axis', -1), xs.length);
    if (axis !== xs.length - 1)
      throw new OnnxGraphError(`node ${n.name}: LayerNormalization's gradient needs axis −1`);
    const D = xs[axis]!;
    const [xHat, , rstd] = g.nodeN(
      'LayerNormalization',
      [x, g.constFloat(new Array(D).fill(1)), g.constFloat(new Array(D).fill(0))],
      { axis: -1, epsilon: new OnnxFloat(attrFloat(n, 'epsilon', 1e-5)) },
      3,
    ) as [string, string, string];
    const mean = (t: string) => this.n('ReduceMean', [t], { axes: [-1], keepdims: 1 });
    let dx: string | undefined;
    if (needs[0]) {
      const gg = this.n('Mul', [dy, gamma]);
      const centred = this.n('Sub', [gg, mean(gg)]);
      dx = this.n('Mul', [
        this.n('Sub', [centred, this.n('Mul', [xHat, mean(this.n('Mul', [gg, xHat]))])]),
        rstd,
      ]);
    }
    const dGamma = needs[1] ? this.reduceTo(this.n('Mul', [dy, xHat]), xs, this.shape(gamma)) : undefined;
    const dBeta = beta && needs[2] ? this.reduceTo(dy, xs, this.shape(beta)) : undefined;
    return [dx, dGamma, dBeta];
  }

  /**
   * Conv with kernel = stride and no padding, dilation or groups (ViT's patch embedding): the weight's
   * gradient is one product of the flattened patches with dY, dW[o, (c,ky,kx)] = Σ_patches dY[o]·X[(c,ky,kx)].
   */
  private convGrad(n: OnnxNodeDef, dy: string, needs: boolean[]): (string | undefined)[] {
    const g = this.g;
    const [x, w, bias] = n.inputs as [string, string, string | undefined];
    const xs = this.shape(x);
    const ws = this.shape(w);
    const ys = this.shape(n.outputs[0]!);
    const k = attrInts(n, 'kernel_shape') ?? ws.slice(2);
    const s = attrInts(n, 'strides') ?? k.map(() => 1);
    const plain =
      k.length === 2 &&
      k.every((kk, i) => kk === s[i]) &&
      (attrInts(n, 'pads') ?? [0]).every((p) => p === 0) &&
      (attrInts(n, 'dilations') ?? [1]).every((d) => d === 1) &&
      attrInt(n, 'group', 1) === 1;
    if (!plain || needs[0])
      throw new OnnxGraphError(
        `node ${n.name}: Conv's gradient is implemented for the weight and bias of a patch embedding (kernel = stride, no padding), not for its input`,
      );
    const [b, c] = xs as [number, number];
    const [P, Q] = k as [number, number];
    const [gh, gw] = [ys[2]!, ys[3]!];
    const O = ws[0]!;
    let dW: string | undefined;
    if (needs[1]) {
      let px = x;
      if (xs[2] !== gh * P || xs[3] !== gw * Q)
        px = this.n('Slice', [x, g.constInt64([0, 0]), g.constInt64([gh * P, gw * Q]), g.constInt64([2, 3])]);
      const patches = this.n('Reshape', [
        this.n('Transpose', [this.n('Reshape', [px, g.constInt64([b, c, gh, P, gw, Q])])], {
          perm: [0, 2, 4, 1, 3, 5],
        }),
        g.constInt64([b * gh * gw, c * P * Q]),
      ]);
      const dy2 = this.n('Reshape', [
        this.n('Transpose', [dy], { perm: [0, 2, 3, 1] }),
        g.constInt64([b * gh * gw, O]),
      ]);
      dW = this.n('Reshape', [this.n('Gemm', [dy2, patches], { transA: 1 }), g.constInt64(ws)]);
    }
    const dB = bias && needs[2] ? this.reduceTo(dy, ys, [1, O, 1, 1]) : undefined;
    return [undefined, dW, dB && this.n('Reshape', [dB, g.constInt64([O])])];
  }
}

function infoOfInit(g: OnnxGraph, name: string): OnnxValueInfo | undefined {
  const init = g.initializerDef(name);
  if (!init) return undefined;
  return {
    dtype: init.dtype,
    shape: [...init.dims],
    value:
      init.data.length <= FOLD_LIMIT
        ? Array.from(init.data as ArrayLike<number | bigint>, Number)
        : undefined,
  };
}
