/**
 * `attn export onnx --model DIR --out FILE`: hands the model to its package's `exportOnnx`, when that package
 * offers one (the choice is made from config.json's model_type). Without it, a clear "not available" error.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Context, UsageError, writeLine } from '../io.js';
import { resolveModel } from '../models.js';

export interface ExportOptions {
  model: string;
  out: string;
}

export class ExportUnavailableError extends Error {
  override readonly name = 'ExportUnavailableError';
}

type Exporter = (modelDir: string, out: string) => Promise<unknown>;

/** The package module for a model type, if it is one this app knows. */
async function packageFor(modelType: string): Promise<Record<string, unknown>> {
  if (modelType === 'bert') return (await import('@attn/bert')) as Record<string, unknown>;
  if (modelType === 'vit') return (await import('@attn/vit')) as Record<string, unknown>;
  throw new ExportUnavailableError(`no attn package handles model_type "${modelType}"`);
}

export async function exportCommand(format: string, opts: ExportOptions, ctx: Context): Promise<number> {
  if (format !== 'onnx') throw new UsageError(`unknown export format "${format}" (known: onnx)`);
  const dir = resolveModel(opts.model, 'text-encoder');
  const config = JSON.parse(await readFile(resolve(dir, 'config.json'), 'utf8')) as { model_type?: string };
  const pkg = await packageFor(config.model_type ?? 'unknown');
  const exportOnnx = pkg.exportOnnx as Exporter | undefined;
  if (typeof exportOnnx !== 'function') {
    throw new ExportUnavailableError(
      `ONNX export is not available: @attn/${config.model_type} has no exportOnnx yet`,
    );
  }
  await ctx.backend();
  await exportOnnx(dir, opts.out);
  await writeLine(
    ctx.io.stdout,
    ctx.json ? JSON.stringify({ input: dir, out: opts.out }) : `wrote ${opts.out}`,
  );
  return 0;
}
