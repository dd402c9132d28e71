/** What `pipeline(…)` rejects, with the option or folder at fault in the message. */
export type PipelineErrorCode = 'UNKNOWN_TASK' | 'BAD_OPTION' | 'UNSUPPORTED_DTYPE' | 'MISSING_WEIGHTS';

export class PipelineError extends Error {
  override readonly name: string = 'PipelineError';
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
  ) {
    super(`${message} [${code}]`);
  }
}

/**
 * The task's head is not in the checkpoint: running it would print the guesses of random weights.
 * `missing` lists the tensors (HF names), `dir` the folder they were looked for in.
 */
export class MissingWeightsError extends PipelineError {
  override readonly name = 'MissingWeightsError';
  constructor(
    readonly task: string,
    readonly dir: string,
    readonly missing: string[],
  ) {
    super(
      'MISSING_WEIGHTS',
      `${task}: ${dir} has no trained weights for ${missing.join(', ')}; the task would run on a randomly ` +
        `initialised head. Use a checkpoint trained for ${task}, or pass { allowRandomHead: true } to fine-tune one`,
    );
  }
}
