/**
 * `attn embed`: one embedding per input line, streamed. Input lines are plain text, or JSONL objects
 * `{"id": …, "text": …}`; output is JSONL `{"id", "embedding"}` (plain lines get their line number as id).
 * Memory stays constant: one chunk of input, one batch of tensors, and a paused reader while stdout is full.
 */
import type { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import { batchesOf } from '../batching.js';
import { type EmbedOptions, loadEmbedder, NonFiniteOutputError } from '../engines.js';
import { type Context, openInputFile, reportError, writeLine } from '../io.js';
import { type Line, readLines } from '../lines.js';
import { resolveModel } from '../models.js';

export interface EmbedCommandOptions extends EmbedOptions {
  model?: string;
  batchSize: number;
  input?: string;
  /** Longest input line, in characters (LineTooLongError beyond). */
  maxLineLength?: number;
}

export class EmbedInputError extends Error {
  override readonly name = 'EmbedInputError';
}

interface Item {
  id: unknown;
  text: string;
}

/** Parses one input line; JSONL lines must carry a string `text`. */
export function parseEmbedLine(line: Line): Item {
  if (!line.text.trimStart().startsWith('{')) return { id: line.number, text: line.text };
  let obj: unknown;
  try {
    obj = JSON.parse(line.text);
  } catch (e) {
    throw new EmbedInputError(`line ${line.number}: not valid JSON (${(e as Error).message})`);
  }
  const { id, text } = obj as { id?: unknown; text?: unknown };
  if (typeof text !== 'string')
    throw new EmbedInputError(`line ${line.number}: JSON object has no string "text" field`);
  if (!text.trim()) throw new EmbedInputError(`line ${line.number}: "text" is empty or only whitespace`);
  return { id: id ?? line.number, text };
}

/** Float32 values printed with 7 significant digits: what a float32 holds, half the bytes of a double's digits. */
function formatVector(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + Number(v[i].toPrecision(7));
  return `${s}]`;
}

function progressBar(ctx: Context, totalBytes: number | undefined): cliProgress.SingleBar | undefined {
  if (!ctx.io.stderr.isTTY) return undefined;
  const format = totalBytes
    ? 'embed |{bar}| {percentage}% | {lines} lines | {rate} lines/s | eta {eta_formatted}'
    : 'embed {lines} lines | {rate} lines/s';
  const bar = new cliProgress.SingleBar(
    { format, stream: ctx.io.stderr, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalBytes ?? 1, 0, { lines: 0, rate: 0 });
  return bar;
}

export async function embedCommand(opts: EmbedCommandOptions, ctx: Context): Promise<number> {
  const file = opts.input ? openInputFile(opts.input) : undefined;
  const input: Readable = file?.stream ?? ctx.io.stdin;
  const totalBytes = file?.size;
  const source = opts.input ?? 'stdin';
  const backend = await ctx.backend();
  const model = await loadEmbedder(resolveModel(opts.model, 'text-encoder'), {
    ...opts,
    backend: backend.name,
  });
  const bar = progressBar(ctx, totalBytes);
  const started = performance.now();
  let done = 0;
  let failed = 0;
  let bytes = 0;
  try {
    const lines = readLines(input, { source, maxLineLength: opts.maxLineLength });
    for await (const batch of batchesOf(lines, opts.batchSize)) {
      const items: Item[] = [];
      const lineNumbers: number[] = [];
      for (const line of batch) {
        bytes = line.bytes;
        if (!line.text.trim()) continue;
        try {
          items.push(parseEmbedLine(line));
          lineNumbers.push(line.number);
        } catch (e) {
          failed++;
          await reportError(ctx, source, e);
        }
      }
      if (items.length === 0) continue;
      const vectors = await model.embed(items.map((it) => it.text)).catch((e: unknown) => {
        // A model that gives NaN gives it for every line: stop, naming the first line it happened on.
        if (e instanceof NonFiniteOutputError)
          throw new NonFiniteOutputError(e.model, e.index, `${source} line ${lineNumbers[e.index]}`);
        throw e;
      });
      for (const [i, item] of items.entries()) {
        await writeLine(
          ctx.io.stdout,
          `{"id":${JSON.stringify(item.id)},"embedding":${formatVector(vectors[i])}}`,
        );
      }
      done += items.length;
      const rate = Math.round(done / ((performance.now() - started) / 1000));
      bar?.update(totalBytes ? bytes : done, { lines: done, rate });
    }
  } finally {
    bar?.stop();
    await model.dispose();
  }
  return failed ? 1 : 0;
}
