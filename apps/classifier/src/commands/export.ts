/**
 * `attn export onnx --model DIR --out FILE`: loads the model with the class its config.json names and hands it
 * to its package's `exportOnnx`, when that package offers one. Without it, a clear "not available" error.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { resolvePretrainedDir } from '@attn/core-tensor';
import { type Context, UsageError, writeLine } from '../io.js';
import { resolveModel } from '../models.js';

export interface ExportOptions {
  model: string;
  out: string;
}

export class ExportUnavailableError extends Error {
  override readonly name = 'ExportUnavailableError';
}

interface Loadable {
  fromPretrained(dir: string): Promise<{ dispose(): void }>;
}
type Exporter = (model: unknown, path: string) => { bytes?: number; task?: string };

/** The package module and the class to load for a model folder's config.json. */
async function packageFor(config: { model_type?: string; architectures?: string[] }) {
  const type = config.model_type ?? 'unknown';
  let pkg: Record<string, unknown>;
  if (type === 'bert') pkg = (await import('@attn/bert')) as Record<string, unknown>;
  else if (type === 'vit') pkg = (await import('@attn/vit')) as Record<string, unknown>;
  else throw new ExportUnavailableError(`no attn package handles model_type "${type}"`);
  const arch = config.architectures?.[0] ?? (type === 'bert' ? 'BertModel' : 'ViTModel');
  const cls = pkg[arch] as Loadable | undefined;
  if (typeof cls?.fromPretrained !== 'function')
    throw new ExportUnavailableError(`@attn/${type} has no ${arch} to load`);
  return { type, pkg, cls };
}

export async function exportCommand(format: string, opts: ExportOptions, ctx: Context): Promise<number> {
  if (format !== 'onnx') throw new UsageError(`unknown export format "${format}" (known: onnx)`);
  const dir = await resolvePretrainedDir(resolveModel(opts.model, 'text-encoder'));
  const config = JSON.parse(await readFile(resolve(dir, 'config.json'), 'utf8'));
  const { type, pkg, cls } = await packageFor(config);
  const exportOnnx = pkg.exportOnnx as Exporter | undefined;
  if (typeof exportOnnx !== 'function') {
    throw new ExportUnavailableError(`ONNX export is not available: @attn/${type} has no exportOnnx yet`);
  }
  await ctx.backend();
  const model = await cls.fromPretrained(dir);
  try {
    const result = exportOnnx(model, opts.out);
    const info = { input: dir, out: opts.out, ...result };
    await writeLine(
      ctx.io.stdout,
      ctx.json ? JSON.stringify(info) : `wrote ${opts.out}${result.task ? ` (${result.task})` : ''}`,
    );
  } finally {
    model.dispose();
  }
  return 0;
}
