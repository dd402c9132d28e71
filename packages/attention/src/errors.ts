/** Thrown when a tensor handed to an attention function or layer has the wrong rank or shape. */
export class AttentionShapeError extends Error {
  override readonly name = 'AttentionShapeError';
  constructor(
    /** Which tensor or field was wrong, e.g. `scaledDotProductAttention: k`. */
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

/** Thrown for an invalid layer or model configuration (a field name is always in the message). */
export class AttentionConfigError extends Error {
  override readonly name = 'AttentionConfigError';
}
