/**
 * `attn attention <image-or-text> --out FILE.png`: what the model looks at. For an image file, ViT attention
 * rollout drawn over the image; for text, a token × token heatmap of one layer's attention (mean over heads).
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { atomicWriteFile } from '@attn/core-tensor';
import { loadImageClassifier, loadTextClassifier } from '../engines.js';
import { type Context, ellipsize, writeLine } from '../io.js';
import { resolveModel } from '../models.js';
import { renderTokenHeatmap } from '../render/token-heatmap.js';

export interface AttentionOptions {
  out: string;
  model?: string;
  /** Text only: which layer (default the last). */
  layer?: number;
  /** Treat the argument as text even if a file of that name exists. */
  text?: boolean;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif']);

export function isImageArgument(arg: string): boolean {
  return existsSync(arg) && IMAGE_EXT.has(extname(arg).toLowerCase());
}

export async function attentionCommand(input: string, opts: AttentionOptions, ctx: Context): Promise<number> {
  // Attention maps come from the tfjs model (onnxruntime returns none): the tfjs side of --device.
  const device = (await ctx.backend()).name;
  if (!opts.text && isImageArgument(input)) {
    const model = await loadImageClassifier(
      resolveModel(opts.model, 'image-classification'),
      device,
      ctx.dtype,
    );
    try {
      await atomicWriteFile(opts.out, await model.attentionPng(input));
    } finally {
      model.dispose();
    }
  } else {
    const model = await loadTextClassifier(
      resolveModel(opts.model, 'text-classification'),
      device,
      ctx.dtype,
    );
    try {
      const att = await model.attention(input, opts.layer);
      const title = `layer ${att.layer} attention, mean over heads: ${ellipsize(input, 50)}`;
      await atomicWriteFile(opts.out, await renderTokenHeatmap(att.tokens, att.weights, { title }));
    } finally {
      model.dispose();
    }
  }
  if (ctx.json) await writeLine(ctx.io.stdout, JSON.stringify({ input, out: opts.out }));
  else await writeLine(ctx.io.stdout, `wrote ${opts.out}`);
  return 0;
}
