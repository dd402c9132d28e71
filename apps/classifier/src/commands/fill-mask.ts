/** `attn fill-mask "<text with [MASK]>"`: the K most likely tokens for every mask and the completed sentences. */
import { loadMaskFiller } from '../engines.js';
import { type Context, UsageError, writeLine } from '../io.js';
import { resolveModel } from '../models.js';

export interface FillMaskOptions {
  model?: string;
  top: number;
}

export async function fillMaskCommand(text: string, opts: FillMaskOptions, ctx: Context): Promise<number> {
  if (!text.includes('[MASK]')) throw new UsageError(`text has no [MASK] token: ${JSON.stringify(text)}`);
  const model = await loadMaskFiller(resolveModel(opts.model, 'fill-mask'), ctx.device, ctx.dtype);
  try {
    const perMask = await model.fill(text, opts.top);
    if (ctx.json) {
      const rounded = perMask.map((ps) => ps.map((p) => ({ ...p, score: Math.round(p.score * 1e6) / 1e6 })));
      // as transformers.js: one flat list for a single mask, one list per mask for several
      const predictions = rounded.length === 1 ? rounded[0] : rounded;
      await writeLine(ctx.io.stdout, JSON.stringify({ input: text, predictions }));
    } else {
      for (const [m, predictions] of perMask.entries()) {
        if (perMask.length > 1) await writeLine(ctx.io.stdout, `[MASK] ${m + 1} of ${perMask.length}:`);
        for (const p of predictions) {
          await writeLine(
            ctx.io.stdout,
            `${p.label.padEnd(14)} ${(p.score * 100).toFixed(1).padStart(5)}%  ${p.sequence}`,
          );
        }
      }
    }
  } finally {
    model.dispose();
  }
  return 0;
}
