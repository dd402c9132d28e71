/** `attn classify-text [texts…]`: labels per text; with no text arguments, one text per line of stdin. */
import { batchesOf, runIsolated } from '../batching.js';
import { loadTextClassifier } from '../engines.js';
import { type Context, reportError, UsageError, writePredictions } from '../io.js';
import { readLines } from '../lines.js';
import { resolveModel } from '../models.js';

export interface ClassifyTextOptions {
  model?: string;
  top: number;
  batchSize: number;
  /** Longest stdin line, in characters (LineTooLongError beyond). */
  maxLineLength?: number;
}

async function* stdinTexts(ctx: Context, maxLineLength?: number): AsyncGenerator<string> {
  for await (const line of readLines(ctx.io.stdin, { source: 'stdin', maxLineLength }))
    if (line.text.trim()) yield line.text;
}

export async function classifyTextCommand(
  texts: string[],
  opts: ClassifyTextOptions,
  ctx: Context,
): Promise<number> {
  // Blank arguments would be classified all the same, into whatever the model's bias prefers.
  const blank = texts.findIndex((t) => !t.trim());
  if (blank >= 0) throw new UsageError(`text ${blank + 1} of the arguments is empty or only whitespace`);
  const model = await loadTextClassifier(
    resolveModel(opts.model, 'text-classification'),
    ctx.device,
    ctx.dtype,
  );
  let failed = 0;
  let seen = 0;
  try {
    const inputs = texts.length ? texts : stdinTexts(ctx, opts.maxLineLength);
    for await (const batch of batchesOf(inputs, opts.batchSize)) {
      seen += batch.length;
      const outcomes = await runIsolated(batch, (b) => model.classify(b, opts.top));
      for (const [i, o] of outcomes.entries()) {
        if (o.ok) await writePredictions(ctx, batch[i], o.value);
        else {
          failed++;
          await reportError(ctx, JSON.stringify(batch[i]), o.error);
        }
      }
    }
  } finally {
    model.dispose();
  }
  // Blank lines are skipped; stdin with nothing else is a mistake, not a successful run with no output.
  if (seen === 0)
    throw new UsageError('no text to classify: give texts as arguments or non-blank lines on stdin');
  return failed ? 1 : 0;
}
