import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, SafetensorsError, type SafetensorsErrorCode } from './index.js';

/** A file with an arbitrary header string and declared header length. */
function raw(header: string, data = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}
const file = (header: object, dataBytes: number) => raw(JSON.stringify(header), new Uint8Array(dataBytes));
const f32 = (shape: number[], begin: number, end: number) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, end],
});

// name, bytes, expected code, a phrase the message must contain
const cases: [string, Uint8Array, SafetensorsErrorCode, RegExp][] = [
  ['empty file', new Uint8Array(0), 'TRUNCATED', /0 bytes, fewer than the 8-byte/],
  ['cut inside the length prefix', new Uint8Array([16, 0, 0]), 'TRUNCATED', /3 bytes/],
  [
    'header length past the end',
    raw('{}', new Uint8Array(0), 100n),
    'TRUNCATED',
    /header length 100 runs past the end/,
  ],
  [
    'huge header length',
    raw('{}', new Uint8Array(0), 2n ** 62n),
    'HEADER_TOO_LARGE',
    /exceeds the 100000000-byte limit/,
  ],
  ['header not JSON', raw('{"a": nope}'), 'HEADER_NOT_JSON', /not valid UTF-8 JSON/],
  ['header not UTF-8', raw('{"a":"x"}').map((b, i) => (i === 14 ? 0xff : b)), 'HEADER_NOT_JSON', /UTF-8/],
  ['header a JSON array', raw('[1,2]'), 'HEADER_INVALID', /must be a JSON object/],
  [
    'unknown dtype',
    file({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8),
    'BAD_DTYPE',
    /tensor "w": unsupported dtype "F64"/,
  ],
  ['negative dimension', file({ w: f32([-1, 2], 0, 8) }, 8), 'BAD_SHAPE', /tensor "w": shape \[-1,2\]/],
  [
    'offsets missing',
    file({ w: { dtype: 'F32', shape: [1] } }, 4),
    'BAD_OFFSETS',
    /tensor "w": data_offsets undefined/,
  ],
  ['offsets reversed', file({ w: f32([0], 8, 4) }, 8), 'BAD_OFFSETS', /\[8,4\]/],
  [
    'offsets outside the data',
    file({ w: f32([4], 0, 16) }, 8),
    'OUT_OF_BOUNDS',
    /tensor "w": data_offsets \[0, 16\] run past the 8-byte/,
  ],
  [
    'data truncated after the header',
    file({ a: f32([2], 0, 8), b: f32([2], 8, 16) }, 12),
    'OUT_OF_BOUNDS',
    /tensor "b"/,
  ],
  [
    'overlapping tensors',
    file({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12),
    'OVERLAP',
    /tensor "b": bytes \[4, 12\) overlap tensor "a"/,
  ],
  [
    'shape does not match byte length',
    file({ w: f32([3], 0, 8) }, 8),
    'SIZE_MISMATCH',
    /F32 shape \[3\] needs 12 bytes but data_offsets span 8/,
  ],
  [
    'huge declared shape',
    file({ w: f32([2 ** 40, 2 ** 40], 0, 8) }, 8),
    'SIZE_MISMATCH',
    /needs 4835703278458516698824704 bytes/,
  ],
  [
    'duplicate tensor name (JSON.parse would keep the last)',
    raw(
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "\\u0077" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      new Uint8Array(8),
    ),
    'DUPLICATE_NAME',
    /tensor "w": the header names this tensor twice/,
  ],
  [
    'trailing bytes after the last tensor',
    file({ a: f32([2], 0, 8) }, 11),
    'TRAILING_BYTES',
    /3 bytes follow the last tensor's data \(the header accounts for 8 of 11\)/,
  ],
  ['trailing bytes with no tensors', file({}, 1), 'TRAILING_BYTES', /1 bytes follow/],
  [
    'metadata not strings',
    file({ __metadata__: { format: 1 } }, 0),
    'HEADER_INVALID',
    /__metadata__.format must be a string/,
  ],
  [
    'I64 out of int32 range',
    raw(
      JSON.stringify({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }),
      new Uint8Array(new BigInt64Array([2n ** 40n]).buffer),
    ),
    'VALUE_OUT_OF_RANGE',
    /tensor "n": I64 value 1099511627776/,
  ],
];

describe('malformed safetensors give a typed error naming the problem', () => {
  it.each(cases)('%s', async (_name, bytes, code, message) => {
    const err = await readSafetensors(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).code).toBe(code);
    expect((err as Error).message).toMatch(message);
  });

  it('reads only the header of a file declaring a 4 GB tensor: no allocation of the declared size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-st-bad-'));
    const path = join(dir, 'liar.safetensors');
    writeFileSync(path, file({ w: f32([2 ** 30], 0, 2 ** 32) }, 16));
    const before = process.memoryUsage().arrayBuffers;
    const err = await readSafetensors(path).catch((e: unknown) => e);
    expect((err as SafetensorsError).code).toBe('OUT_OF_BOUNDS');
    expect((err as Error).message).toContain(path);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it('names a missing file and a bad shard index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-st-bad-'));
    const missing = join(dir, 'nope.safetensors');
    await expect(readSafetensors(missing)).rejects.toThrow(`${missing}: cannot open (ENOENT)`);
    const index = join(dir, 'model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ weight_map: { w: '../escape.safetensors' } }));
    await expect(readSafetensors(index)).rejects.toThrow(/tensor "w" maps to "..\/escape.safetensors"/);
    writeFileSync(join(dir, 'a.safetensors'), file({ x: f32([1], 0, 4) }, 4));
    writeFileSync(index, JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }));
    await expect(readSafetensors(index)).rejects.toThrow(
      /shard .*a.safetensors lacks tensors the index maps to it: y/,
    );
  });
});
