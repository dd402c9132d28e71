/**
 * `attn embed --queue redis://… --input FILE --db DIR`: splits the file into chunk jobs for `attn worker`s,
 * then follows the whole run until every chunk is in the store (or has failed for good).
 */
import cliProgress from 'cli-progress';
import type { EmbedCommandOptions } from '../commands/embed.js';
import { type Context, UsageError, writeLine } from '../io.js';
import { resolveModel } from '../models.js';
import { planChunks } from './chunks.js';
import { type ChunkJob, connectRedis, doneKey, failedKey, jobId, openQueue, runKey } from './jobs.js';

const DEFAULT_CHUNK_LINES = 1000;

export async function enqueueEmbedCommand(opts: EmbedCommandOptions, ctx: Context): Promise<number> {
  const url = opts.queue!;
  if (!opts.input) throw new UsageError('--queue needs --input FILE: workers read the file by its path');
  if (!opts.db) throw new UsageError('--queue needs --db DIR: the store the workers write the vectors into');
  const redis = await connectRedis(url);
  const queue = openQueue(url);
  try {
    const { file, chunks } = await planChunks(opts.input, opts.chunkLines ?? DEFAULT_CHUNK_LINES);
    const encoding = {
      model: resolveModel(opts.model, 'text-encoder'),
      pooling: opts.pooling,
      normalize: opts.normalize,
      dtype: opts.dtype ?? ctx.dtype,
    };
    const run = runKey(file, opts.db, encoding);
    // Failed jobs are removed (removeOnFail), so enqueueing the run again retries exactly those chunks.
    await redis.del(failedKey(run));
    await queue.addBulk(
      chunks.map((chunk) => ({
        name: 'embed-chunk',
        data: { file, chunk, db: opts.db!, encoding, batchSize: opts.batchSize, run } satisfies ChunkJob,
        opts: {
          jobId: jobId(run, chunk),
          attempts: 3,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: false,
          removeOnFail: true,
        },
      })),
    );
    const totalLines = chunks.reduce((n, c) => n + c.lines, 0);
    await writeLine(
      ctx.io.stderr,
      `attn: ${file.path}: ${chunks.length} chunk jobs (${totalLines} lines) on ${url}, run ${run}`,
    );
    return await follow(ctx, redis, run, chunks.length, totalLines);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** Polls the run's done/failed hashes; a bar on a terminal, a final summary line always. */
async function follow(
  ctx: Context,
  redis: import('ioredis').Redis,
  run: string,
  total: number,
  totalLines: number,
): Promise<number> {
  const bar = ctx.io.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          format: 'embed (queue) |{bar}| {value}/{total} chunks | {docs} docs/s | eta {eta_formatted}',
          stream: ctx.io.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { docs: 0 });
  const started = performance.now();
  let done = 0;
  let failed = 0;
  try {
    for (;;) {
      [done, failed] = (await redis.multi().hlen(doneKey(run)).hlen(failedKey(run)).exec())!.map(
        ([, n]) => n as number,
      );
      const docs = Math.round((totalLines * (done / total)) / ((performance.now() - started) / 1000));
      bar?.update(done, { docs });
      if (done + failed >= total) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    bar?.stop();
  }
  let bad = 0;
  for (const v of await redis.hvals(doneKey(run))) bad += Number(v.split(' ')[1] ?? 0);
  for (const [id, error] of Object.entries(await redis.hgetall(failedKey(run))))
    await writeLine(ctx.io.stderr, `attn: chunk ${id}: ${error}`);
  await writeLine(
    ctx.io.stderr,
    `attn: ${done}/${total} chunks embedded${failed ? `, ${failed} failed` : ''}${bad ? `, ${bad} bad lines` : ''}`,
  );
  return failed || bad ? 1 : 0;
}
