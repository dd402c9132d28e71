/** Bad input to a BERT model or pipeline (wrong shape, ids outside the vocab, too long, empty). The message names the field. */
export class BertInputError extends Error {
  override readonly name = 'BertInputError';
}
