import { DTYPE_SIZE, isDtype, type SafetensorsDtype } from './dtypes.js';
import { SafetensorsError } from './errors.js';

/** One tensor as the header declares it; offsets are relative to the start of the data section. */
export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data section: 8 (length prefix) + header length. */
  dataStart: number;
  entries: TensorEntry[];
  metadata: Record<string, string>;
}

/** Same limit as the reference Rust implementation: a larger header is an attack or a corrupt file. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Reads the 8-byte little-endian header length and checks it fits in a file of `fileSize` bytes.
 * Runs before anything else is read, so a lying length never causes an allocation.
 */
export function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8 || prefix.byteLength < 8)
    throw new SafetensorsError(
      'TRUNCATED',
      source,
      `file has ${fileSize} bytes, fewer than the 8-byte header length`,
    );
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      source,
      `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`,
    );
  if (n < 2n)
    throw new SafetensorsError('HEADER_INVALID', source, `header length ${n} is too small for a JSON object`);
  if (8n + n > BigInt(fileSize))
    throw new SafetensorsError(
      'TRUNCATED',
      source,
      `header length ${n} runs past the end of the ${fileSize}-byte file`,
    );
  return Number(n);
}

/**
 * Parses and validates the JSON header against a data section of `dataSize` bytes: every entry has a
 * known dtype, a shape of non-negative integers, offsets inside the data, a byte length equal to
 * dtype size × element count, and no two entries overlap.
 */
export function parseHeader(json: Uint8Array, dataSize: number, source: string): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(
      'HEADER_NOT_JSON',
      source,
      `header is not valid UTF-8 JSON (${(e as Error).message})`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SafetensorsError('HEADER_INVALID', source, 'header must be a JSON object');
  // JSON.parse keeps the last of two equal keys, which would load one tensor silently in place of another.
  const duplicate = firstDuplicateKey(json);
  if (duplicate !== undefined)
    throw new SafetensorsError('DUPLICATE_NAME', source, 'the header names this tensor twice', duplicate);
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      Object.assign(metadata, checkMetadata(value, source));
      continue;
    }
    entries.push(checkEntry(name, value, dataSize, source));
  }
  const byStart = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byStart.length; i++) {
    const [prev, cur] = [byStart[i - 1]!, byStart[i]!];
    if (cur.begin < prev.end)
      throw new SafetensorsError(
        'OVERLAP',
        source,
        `bytes [${cur.begin}, ${cur.end}) overlap tensor "${prev.name}" at [${prev.begin}, ${prev.end})`,
        cur.name,
      );
  }
  // As the reference implementation: bytes no tensor claims mean a wrong header or a file glued to another.
  const used = byStart.reduce((n, e) => Math.max(n, e.end), 0);
  if (used !== dataSize)
    throw new SafetensorsError(
      'TRAILING_BYTES',
      source,
      `${dataSize - used} bytes follow the last tensor's data (the header accounts for ${used} of ${dataSize})`,
    );
  return { dataStart: 8 + json.byteLength, entries, metadata };
}

/**
 * The first top-level key of the (already valid) JSON object `json` that occurs twice, compared after
 * unescaping, so `"a"` and `"\u0061"` are the same name.
 */
function firstDuplicateKey(json: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(json);
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (/\s/.test(text[j] ?? '')) j++;
      if (text[j] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}

function checkMetadata(value: unknown, source: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SafetensorsError('HEADER_INVALID', source, '__metadata__ must be an object of strings');
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'string')
      throw new SafetensorsError(
        'HEADER_INVALID',
        source,
        `__metadata__.${k} must be a string, got ${typeof v}`,
      );
  return value as Record<string, string>;
}

function checkEntry(name: string, value: unknown, dataSize: number, source: string): TensorEntry {
  const fail = (code: 'HEADER_INVALID' | 'BAD_DTYPE' | 'BAD_SHAPE' | 'BAD_OFFSETS', msg: string): never => {
    throw new SafetensorsError(code, source, msg, name);
  };
  if (typeof value !== 'object' || value === null) return fail('HEADER_INVALID', 'entry must be an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype))
    return fail(
      'BAD_DTYPE',
      `unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`,
    );
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    return fail('BAD_SHAPE', `shape ${JSON.stringify(shape)} must be an array of non-negative integers`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  )
    return fail(
      'BAD_OFFSETS',
      `data_offsets ${JSON.stringify(offsets)} must be [begin, end] with 0 ≤ begin ≤ end`,
    );
  const [begin, end] = offsets as [number, number];
  if (end > dataSize)
    throw new SafetensorsError(
      'OUT_OF_BOUNDS',
      source,
      `data_offsets [${begin}, ${end}] run past the ${dataSize}-byte data section`,
      name,
    );
  // BigInt: a hostile shape like [2^40, 2^40] must not overflow into a plausible number.
  const expected = (shape as number[]).reduce((n, d) => n * BigInt(d), 1n) * BigInt(DTYPE_SIZE[dtype]);
  if (expected !== BigInt(end - begin))
    throw new SafetensorsError(
      'SIZE_MISMATCH',
      source,
      `${dtype} shape [${shape}] needs ${expected} bytes but data_offsets span ${end - begin}`,
      name,
    );
  return { name, dtype, shape: shape as number[], begin, end };
}
