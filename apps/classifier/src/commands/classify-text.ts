/** `attn classify-text [texts…]`: labels per text; with no text arguments, one text per line of stdin. */
import { batchesOf, runIsolated } from '../batching.js';
import { loadTextClassifier } from '../engines.js';
import { type Context, reportError, writePredictions } from '../io.js';
import { readLines } from '../lines.js';
import { resolveModel } from '../models.js';

export interface ClassifyTextOptions {
  model?: string;
  top: number;
  batchSize: number;
}

async function* stdinTexts(ctx: Context): AsyncGenerator<string> {
  for await (const line of readLines(ctx.io.stdin)) if (line.text.trim()) yield line.text;
}

export async function classifyTextCommand(
  texts: string[],
  opts: ClassifyTextOptions,
  ctx: Context,
): Promise<number> {
  await ctx.backend();
  const model = await loadTextClassifier(resolveModel(opts.model, 'text-classification'));
  let failed = 0;
  try {
    const inputs = texts.length ? texts : stdinTexts(ctx);
    for await (const batch of batchesOf(inputs, opts.batchSize)) {
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
  return failed ? 1 : 0;
}
