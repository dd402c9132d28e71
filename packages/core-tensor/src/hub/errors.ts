export type PretrainedErrorCode =
  | 'INVALID_ID'
  | 'NOT_FOUND'
  | 'HTTP_ERROR'
  | 'NETWORK'
  | 'BAD_CONFIG'
  | 'NO_WEIGHTS'
  | 'UNSAFE_PATH'
  | 'CORRUPT'
  | 'STALLED'
  | 'ABORTED'
  | 'BAD_OPTION';

/** A model folder or hub download that cannot be used. `where` is the URL, file or folder at fault. */
export class PretrainedError extends Error {
  override readonly name = 'PretrainedError';
  constructor(
    readonly code: PretrainedErrorCode,
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail} [${code}]`);
  }
}
