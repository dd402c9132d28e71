import { describe, expect, it } from 'vitest';
import { OnnxGraph, OnnxGraphError, onnxFloat } from './graph.js';
import { encodeVarint, ProtoWriter } from './protobuf.js';

/** Decodes one protobuf message into [field, value] pairs: varints as bigint, length-delimited as bytes. */
function decode(buf: Uint8Array): [number, bigint | Uint8Array | number][] {
  const out: [number, bigint | Uint8Array | number][] = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push([field, varint()]);
    else if (wire === 2) {
      const n = Number(varint());
      out.push([field, buf.subarray(i, i + n)]);
      i += n;
    } else if (wire === 5) {
      out.push([field, new DataView(buf.buffer, buf.byteOffset + i, 4).getFloat32(0, true)]);
      i += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}
const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);
const fields = (msg: [number, unknown][], f: number) => msg.filter(([k]) => k === f).map(([, v]) => v);

describe('protobuf writer', () => {
  it('encodes varints as the protobuf spec examples (1, 150, 300, -1 as ten bytes)', () => {
    expect([...encodeVarint(1n)]).toEqual([0x01]);
    expect([...encodeVarint(150n)]).toEqual([0x96, 0x01]);
    expect([...encodeVarint(300n)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(-1n)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('encodes tags, strings, floats and nested messages byte for byte', () => {
    // The spec's example: field 1 = 150 → 08 96 01; field 2 = "testing" → 12 07 74 65 73 74 69 6e 67.
    expect([...new ProtoWriter().varint(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().string(2, 'testing').finish()]).toEqual([
      0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67,
    ]);
    // field 3 = embedded { field 1 = 150 } → 1a 03 08 96 01
    expect([...new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)).finish()]).toEqual([
      0x1a, 0x03, 0x08, 0x96, 0x01,
    ]);
    // float 1.0 = 0x3f800000 little-endian, field 2 wire 5 → 15 00 00 80 3f
    expect([...new ProtoWriter().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
  });

  it('keeps large payloads by reference (no copy until finish)', () => {
    const big = new Uint8Array(1000);
    const w = new ProtoWriter().bytes(9, big);
    expect(w.chunks).toContain(big);
    expect(w.length).toBe(1 + 2 + 1000);
  });
});

describe('OnnxGraph', () => {
  it('writes a ModelProto whose graph, nodes, attributes, initializers and symbolic dims decode back', () => {
    const g = new OnnxGraph('tiny');
    const x = g.input('x', 'float32', ['batch', 3]);
    const w = g.initializer('w', 'float32', [3, 2], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const y = g.node('LayerNormalization', [g.node('MatMul', [x, w])], {
      axis: -1,
      epsilon: onnxFloat(1e-5),
    });
    g.output('y', y, 'float32', ['batch', 2]);
    const model = decode(g.encode({ opset: 17, metadata: { task: 'demo' } }).finish());

    expect(fields(model, 1)).toEqual([8n]); // ir_version
    const opset = decode(fields(model, 8)[0] as Uint8Array);
    expect(fields(opset, 2)).toEqual([17n]);
    const meta = decode(fields(model, 14)[0] as Uint8Array);
    expect([text(fields(meta, 1)[0]), text(fields(meta, 2)[0])]).toEqual(['task', 'demo']);

    const graph = decode(fields(model, 7)[0] as Uint8Array);
    expect(text(fields(graph, 2)[0])).toBe('tiny');
    const nodes = fields(graph, 1).map((n) => decode(n as Uint8Array));
    expect(nodes.map((n) => text(fields(n, 4)[0]))).toEqual(['MatMul', 'LayerNormalization', 'Identity']);
    const attrs = fields(nodes[1], 5).map((a) => decode(a as Uint8Array));
    // axis: INT (type 2) -1 as a ten-byte varint; epsilon: FLOAT (type 1).
    expect(text(fields(attrs[0], 1)[0])).toBe('axis');
    expect(BigInt.asIntN(64, fields(attrs[0], 3)[0] as bigint)).toBe(-1n);
    expect(fields(attrs[0], 20)).toEqual([2n]);
    expect(fields(attrs[1], 2)[0]).toBeCloseTo(1e-5, 10);
    expect(fields(attrs[1], 20)).toEqual([1n]);

    const init = decode(fields(graph, 5)[0] as Uint8Array);
    expect(fields(init, 1)).toEqual([3n, 2n]); // dims
    expect(fields(init, 2)).toEqual([1n]); // FLOAT
    const raw = fields(init, 9)[0] as Uint8Array;
    expect([...new Float32Array(raw.slice().buffer)]).toEqual([1, 2, 3, 4, 5, 6]);

    // input x: TypeProto.tensor_type { elem_type 1, shape { dim { dim_param "batch" } dim { dim_value 3 } } }
    const input = decode(fields(graph, 11)[0] as Uint8Array);
    const tensorType = decode(fields(decode(fields(input, 2)[0] as Uint8Array), 1)[0] as Uint8Array);
    expect(fields(tensorType, 1)).toEqual([1n]);
    const dims = fields(decode(fields(tensorType, 2)[0] as Uint8Array), 1).map((d) =>
      decode(d as Uint8Array),
    );
    expect(text(fields(dims[0], 2)[0])).toBe('batch');
    expect(fields(dims[1], 1)).toEqual([3n]);
    expect(text(fields(decode(fields(graph, 12)[0] as Uint8Array), 1)[0])).toBe('y');
  });

  it('rejects undefined inputs, duplicate names, wrong initializer sizes and non-integer INT attributes', () => {
    const g = new OnnxGraph();
    const x = g.input('x', 'float32', [2]);
    expect(() => g.node('Relu', ['nope'])).toThrow(OnnxGraphError);
    expect(() => g.input('x', 'float32', [2])).toThrow(/defined twice/);
    expect(() => g.initializer('w', 'float32', [2, 2], new Float32Array(3))).toThrow(
      /3 values for shape \[2,2\]/,
    );
    expect(() => g.node('LeakyRelu', [x], { alpha: 0.1 })).toThrow(/onnxFloat/);
  });
});
