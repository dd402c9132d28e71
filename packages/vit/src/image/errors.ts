export type ImageInputErrorCode = 'unreadable' | 'unsupported' | 'corrupt' | 'too-large' | 'empty';

/** A picture that cannot be turned into pixels. `source` names the file (or says which buffer/input it was). */
export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';
  constructor(
    readonly code: ImageInputErrorCode,
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
  }
}
