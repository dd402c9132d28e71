/**
 * `attn export onnx --model DIR --out FILE.onnx`: loads the model with the class its config.json names and hands
 * it to its package's `exportOnnx`, when that package offers one. Without it, a clear "not available" error.
 * `--out DIR` (no .onnx) writes transformers.js' folder layout instead, at `--dtype`: config.json, the weights
 * file of that dtype (model.safetensors, model.fp16.safetensors or model.q8.safetensors, which attn's
 * `pipeline(…, { dtype })` reads), the tokenizer / preprocessor files, and onnx/model.onnx, model_fp16.onnx or
 * model_quantized.onnx (which transformers.js loads for that dtype).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ONNX_FILE_OF_DTYPE } from '@attn/bert';
import { atomicWriteFile, type DType, OPTIONAL_FILES, resolvePretrainedDir } from '@attn/core-tensor';
import { type Context, UsageError, writeLine } from '../io.js';
import { resolveModel } from '../models.js';

export interface ExportOptions {
  model: string;
  out: string;
}

export class ExportUnavailableError extends Error {
  override readonly name = 'ExportUnavailableError';
}

interface Exportable {
  dispose(): void;
  save(dir: string, ...args: unknown[]): Promise<void>;
}
interface Loadable {
  fromPretrained(dir: string): Promise<Exportable>;
}
type Exporter = (
  model: unknown,
  path: string,
  opts?: { dtype?: DType },
) => { path?: string; bytes?: number; task?: string };

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
  // Read at full precision: the quantised weights and graph are made from the fp32 ones.
  const model = await cls.fromPretrained(dir);
  const { dtype } = ctx;
  try {
    let result: ReturnType<Exporter>;
    let weights: string | undefined;
    if (opts.out.endsWith('.onnx')) result = exportOnnx(model, opts.out, { dtype });
    else {
      await mkdir(join(opts.out, 'onnx'), { recursive: true });
      const saveOpts = dtype === 'fp32' ? {} : { dtype };
      // ViT's save takes safetensors metadata before the options, BERT's does not.
      if (type === 'vit') await model.save(opts.out, undefined, saveOpts);
      else await model.save(opts.out, saveOpts);
      weights = dtype === 'fp32' ? 'model.safetensors' : `model.${dtype}.safetensors`;
      for (const f of OPTIONAL_FILES)
        if (existsSync(join(dir, f)) && resolve(dir) !== resolve(opts.out))
          await atomicWriteFile(join(opts.out, f), await readFile(join(dir, f)));
      // transformers.js reads a BERT tokenizer only from tokenizer.json: made from vocab.txt when missing.
      if (
        type === 'bert' &&
        !existsSync(join(opts.out, 'tokenizer.json')) &&
        existsSync(join(dir, 'vocab.txt'))
      ) {
        const { bertTokenizerJson } = await import('@attn/bert');
        const vocab = (await readFile(join(dir, 'vocab.txt'), 'utf8')).replace(/\r?\n$/, '').split(/\r?\n/);
        await atomicWriteFile(join(opts.out, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocab)));
      }
      result = exportOnnx(model, join(opts.out, 'onnx', ONNX_FILE_OF_DTYPE[dtype]), { dtype });
    }
    const info = { input: dir, out: opts.out, dtype, ...(weights && { weights }), ...result };
    await writeLine(
      ctx.io.stdout,
      ctx.json
        ? JSON.stringify(info)
        : `wrote ${result.path ?? opts.out}${weights ? ` and ${join(opts.out, weights)}` : ''}${result.task ? ` (${result.task})` : ''}`,
    );
  } finally {
    model.dispose();
  }
  return 0;
}
