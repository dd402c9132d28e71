/** `attn classify-image <files…>`: top-K labels per image; a bad file is reported and skipped, the rest still run. */
import { batchesOf, runIsolated } from '../batching.js';
import { loadImageClassifier } from '../engines.js';
import { type Context, reportError, UsageError, writePredictions } from '../io.js';
import { resolveModel } from '../models.js';

export interface ClassifyImageOptions {
  model?: string;
  top: number;
  batchSize: number;
}

export async function classifyImageCommand(
  files: string[],
  opts: ClassifyImageOptions,
  ctx: Context,
): Promise<number> {
  if (files.length === 0) throw new UsageError('no image files given');
  const model = await loadImageClassifier(
    resolveModel(opts.model, 'image-classification'),
    ctx.device,
    ctx.dtype,
  );
  let failed = 0;
  try {
    for await (const batch of batchesOf(files, opts.batchSize)) {
      const outcomes = await runIsolated(batch, (b) => model.classify(b, opts.top));
      for (const [i, o] of outcomes.entries()) {
        if (o.ok) await writePredictions(ctx, batch[i], o.value);
        else {
          failed++;
          await reportError(ctx, batch[i], o.error);
        }
      }
    }
  } finally {
    model.dispose();
  }
  return failed ? 1 : 0;
}
