/** What went wrong, as a stable code callers can branch on; the message says it in words. */
export type SafetensorsErrorCode =
  | 'TRUNCATED'
  | 'HEADER_TOO_LARGE'
  | 'HEADER_NOT_JSON'
  | 'HEADER_INVALID'
  | 'BAD_DTYPE'
  | 'BAD_SHAPE'
  | 'BAD_OFFSETS'
  | 'OUT_OF_BOUNDS'
  | 'OVERLAP'
  | 'SIZE_MISMATCH'
  | 'DUPLICATE_NAME'
  | 'TRAILING_BYTES'
  | 'VALUE_OUT_OF_RANGE'
  | 'BAD_INDEX'
  | 'MISSING_SCALE'
  | 'BAD_INPUT';

/** Any malformed or unusable safetensors file. `source` names the file (or "<bytes>"), `tensor` the entry. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly code: SafetensorsErrorCode,
    readonly source: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${source}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${detail} [${code}]`);
  }
}
