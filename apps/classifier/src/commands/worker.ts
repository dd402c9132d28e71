/**
 * `attn worker --queue redis://…`: takes chunk jobs from the queue, embeds their lines with the same loop as
 * `attn embed`, and merges each chunk's vectors into the store in one write (keyed on id, so a chunk that runs
 * twice leaves one copy). A worker that dies mid-chunk holds a lock that stops being renewed; BullMQ's stalled
 * check in the other workers then puts the chunk back on the queue.
 */
import type { VectorRecord, VectorSink } from '@attn/bert';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { type Embedder, loadEmbedder } from '../engines.js';
import { type Context, errorLine, writeLine } from '../io.js';
import { InputChangedError, readChunk } from '../queue/chunks.js';
import { type ChunkJob, connectionFor, connectRedis, doneKey, failedKey, QUEUE_NAME } from '../queue/jobs.js';
import { DTypeMismatchError, LanceSink, tableDtype, VectorStoreError } from '../store/lance.js';
import { embedLines } from './embed.js';

/** Times a chunk may be requeued after its worker stopped renewing the lock (died, or starved of CPU). */
const MAX_STALLED = 2;

export interface WorkerCommandOptions {
  queue: string;
  /** Overrides the jobs' store folder (where this machine mounts it). */
  db?: string;
  /** Milliseconds: the job lock's duration and the stalled-check interval (how soon a dead worker's chunk returns). */
  stallMs: number;
  /** Exit after this many chunks (benchmarks, tests); default: run until SIGINT / SIGTERM. */
  maxJobs?: number;
}

/** Collects a chunk's vectors so the chunk reaches the store in one merge (one table version per chunk). */
class ChunkBuffer implements VectorSink {
  readonly records: VectorRecord[] = [];
  async write(records: VectorRecord[]): Promise<void> {
    this.records.push(...records);
  }
  async close(): Promise<void> {}
}

export async function workerCommand(opts: WorkerCommandOptions, ctx: Context): Promise<number> {
  const redis = await connectRedis(opts.queue);
  // One model and one store at a time: a worker normally serves one run; a job of another run swaps them.
  let loaded: { key: string; model: Embedder } | undefined;
  const sinks = new Map<string, LanceSink>();
  let jobs = 0;

  const embedChunk = async (job: Job<ChunkJob>): Promise<void> => {
    const { file, chunk, encoding, batchSize, run } = job.data;
    const db = opts.db ?? job.data.db;
    const where = `${file.path} lines ${chunk.firstLine}-${chunk.firstLine + chunk.lines - 1}`;
    await writeLine(ctx.io.stderr, `attn worker ${process.pid}: chunk ${job.id} started (${where})`);
    try {
      // The run's dtype (the producer's --dtype) makes every vector of the table; a worker told otherwise refuses.
      const dtype = tableDtype(encoding);
      if (ctx.dtypeGiven && ctx.dtype !== dtype) throw new DTypeMismatchError(db, dtype, ctx.dtype);
      const key = JSON.stringify(encoding);
      if (loaded?.key !== key) {
        await loaded?.model.dispose();
        loaded = undefined;
        loaded = {
          key,
          // this machine's --device: workers on different machines may run different engines
          model: await loadEmbedder(encoding.model, { ...encoding, dtype, device: ctx.device }),
        };
      }
      const buffer = new ChunkBuffer();
      const { done, failed } = await embedLines(
        await readChunk(file, chunk),
        loaded.model,
        buffer,
        { batchSize, source: where },
        ctx,
      );
      const sinkKey = `${db}\n${key}`;
      let sink = sinks.get(sinkKey);
      if (!sink) {
        sink = new LanceSink(db, encoding);
        sinks.set(sinkKey, sink);
      }
      await sink.write(buffer.records);
      await redis.hset(doneKey(run), job.id!, `${done} ${failed} ${process.pid}`);
      await writeLine(ctx.io.stderr, `attn worker ${process.pid}: chunk ${job.id} done (${done} vectors)`);
    } catch (e) {
      // These will not change on a retry: record them for the producer and fail the job for good.
      if (
        e instanceof InputChangedError ||
        e instanceof VectorStoreError ||
        e instanceof DTypeMismatchError
      ) {
        await redis.hset(failedKey(run), job.id!, errorLine(e));
        throw new UnrecoverableError(errorLine(e));
      }
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1))
        await redis.hset(failedKey(run), job.id!, errorLine(e));
      throw e;
    }
  };

  const worker = new Worker<ChunkJob>(QUEUE_NAME, embedChunk, {
    connection: connectionFor(opts.queue),
    concurrency: 1,
    lockDuration: opts.stallMs,
    stalledInterval: opts.stallMs,
    // a chunk whose worker died is requeued; twice in a row points at the chunk itself (it crashes workers)
    maxStalledCount: MAX_STALLED,
  });
  worker.on('error', (e) => void writeLine(ctx.io.stderr, `attn worker: ${errorLine(e)}`));
  // A chunk over maxStalledCount is failed by BullMQ without embedChunk running, so nothing above records it;
  // without this the producer would wait for it forever. A stalled run may still have finished the chunk (its
  // worker only lost the lock), and then the chunk is done, not failed.
  worker.on('failed', (job, e) => {
    if (!job?.deferredFailure) return;
    const { run } = job.data;
    void (async () => {
      if (!(await redis.hexists(doneKey(run), job.id!)))
        await redis.hset(failedKey(run), job.id!, `${e.message} (${MAX_STALLED + 1} runs lost their lock)`);
    })().catch((err) => void writeLine(ctx.io.stderr, `attn worker: ${errorLine(err)}`));
  });
  await worker.waitUntilReady();
  await writeLine(ctx.io.stderr, `attn worker ${process.pid}: waiting for chunks on ${opts.queue}`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    worker.on('completed', () => {
      jobs++;
      if (opts.maxJobs && jobs >= opts.maxJobs) stop();
    });
  });
  // close() waits for the chunk in hand, so a stopped worker leaves nothing half-done
  await worker.close();
  for (const sink of sinks.values()) await sink.close();
  await loaded?.model.dispose();
  redis.disconnect();
  return 0;
}
