/**
 * `attn embed`: one embedding per input line, streamed. Input lines are plain text, or JSONL objects
 * `{"id": …, "text": …}`; output is JSONL `{"id", "embedding"}` (plain lines get their line number as id).
 * Memory stays constant: one window of lines (sorted by token length into batches), one batch of tensors, and
 * a paused reader while stdout is full.
 */
import type { Readable } from 'node:stream';
import { batchByLength, JsonlSink, type VectorSink } from '@attn/bert';
import cliProgress from 'cli-progress';
import { type Embedder, type EmbedOptions, loadEmbedder } from '../engines.js';
import { type Context, openInputFile, reportError } from '../io.js';
import { type Line, readLines } from '../lines.js';
import { resolveModel } from '../models.js';
import { enqueueEmbedCommand } from '../queue/producer.js';
import { LanceSink } from '../store/lance.js';

export interface EmbedCommandOptions extends EmbedOptions {
  model?: string;
  batchSize: number;
  input?: string;
  /** A LanceDB folder to write into (table `embeddings`) instead of JSONL on stdout. */
  db?: string;
  /** redis://…: split --input into chunk jobs for `attn worker`s instead of embedding here. */
  queue?: string;
  /** With --queue: lines per chunk job. */
  chunkLines?: number;
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

export interface EmbedLinesOptions {
  batchSize: number;
  /** Batches' worth of lines sorted by token length together (default @attn/bert's DEFAULT_SORT_WINDOW). */
  sortWindow?: number;
  /** Names the input in error lines. */
  source: string;
  /** After each window of batches: documents embedded so far, and input bytes consumed. */
  onBatch?: (done: number, bytes: number) => void;
}

/**
 * The embedding loop of `attn embed` and `attn worker`: input lines parsed and tokenized once, batched by
 * token length within a bounded window (so batches pad little and memory stays flat), and written into `sink`
 * in input order. A bad line is reported and counted; the others are still embedded.
 */
export async function embedLines(
  lines: AsyncIterable<Line>,
  model: Embedder,
  sink: VectorSink,
  opts: EmbedLinesOptions,
  ctx: Context,
): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  let bytes = 0;
  type Doc = Item & { line: number; ids: number[] };
  async function* docs(): AsyncGenerator<Doc> {
    for await (const line of lines) {
      bytes = line.bytes;
      if (!line.text.trim()) continue;
      let doc: Doc;
      try {
        const item = parseEmbedLine(line);
        doc = { ...item, line: line.number, ids: model.tokenize(item.text) };
      } catch (e) {
        failed++;
        await reportError(ctx, opts.source, e);
        continue;
      }
      yield doc;
    }
  }
  for await (const { items, results } of batchByLength(docs(), {
    batchSize: opts.batchSize,
    sortWindow: opts.sortWindow,
    length: (d) => d.ids.length,
    run: (batch) =>
      // A model that gives NaN gives it for every line: it stops, naming the first line it happened on.
      model.embedTokens(
        batch.map((d) => d.ids),
        (i) => `${opts.source} line ${batch[i].line}`,
      ),
  })) {
    await sink.write(
      items.map((it, i) => ({ id: it.id as string | number, text: it.text, vector: results[i] })),
    );
    done += items.length;
    opts.onBatch?.(done, bytes);
  }
  return { done, failed };
}

export async function embedCommand(opts: EmbedCommandOptions, ctx: Context): Promise<number> {
  if (opts.queue) return enqueueEmbedCommand(opts, ctx);
  const file = opts.input ? openInputFile(opts.input) : undefined;
  const input: Readable = file?.stream ?? ctx.io.stdin;
  const totalBytes = file?.size;
  const spec = resolveModel(opts.model, 'text-encoder');
  // the pipeline starts the device itself (the CLI maps the deprecated --runtime onto opts.device)
  const dtype = opts.dtype ?? ctx.dtype;
  const model = await loadEmbedder(spec, { ...opts, device: opts.device ?? ctx.device, dtype });
  const sink: VectorSink = opts.db
    ? new LanceSink(opts.db, { model: spec, pooling: opts.pooling, normalize: opts.normalize, dtype })
    : new JsonlSink(ctx.io.stdout);
  const bar = progressBar(ctx, totalBytes);
  const started = performance.now();
  try {
    const { failed } = await embedLines(
      readLines(input, { source: opts.input ?? 'stdin', maxLineLength: opts.maxLineLength }),
      model,
      sink,
      {
        batchSize: opts.batchSize,
        source: opts.input ?? 'stdin',
        onBatch: (done, bytes) => {
          const rate = Math.round(done / ((performance.now() - started) / 1000));
          bar?.update(totalBytes ? bytes : done, { lines: done, rate });
        },
      },
      ctx,
    );
    return failed ? 1 : 0;
  } finally {
    bar?.stop();
    await sink.close();
    await model.dispose();
  }
}
