/**
 * What the producer (`attn embed --queue`) and `attn worker` agree on: the BullMQ queue, the job payload,
 * the job ids, and the Redis keys where workers record finished and failed chunks for the producer's progress.
 */
import { createHash } from 'node:crypto';
import { type ConnectionOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { EmbeddingMeta } from '../store/lance.js';
import type { Chunk, FileIdentity } from './chunks.js';

export const QUEUE_NAME = 'attn-embed';

export interface ChunkJob {
  file: FileIdentity;
  chunk: Chunk;
  /** The LanceDB folder (a path every worker sees, or an object-store URI). */
  db: string;
  encoding: Omit<EmbeddingMeta, 'dim'>;
  batchSize: number;
  /** Names the run (input identity + store + encoding): the Redis keys of its progress. */
  run: string;
}

export class QueueUnreachableError extends Error {
  override readonly name = 'QueueUnreachableError';
}

/** BullMQ connection options for a redis:// (or rediss://) URL; the URL's path picks the database number. */
export function connectionFor(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUnreachableError(`--queue ${url}: not a URL (want redis://HOST:PORT[/DB])`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new QueueUnreachableError(`--queue ${url}: not a redis:// URL`);
  // Workers block on Redis for jobs; BullMQ requires that such connections never give up a command.
  return { url, maxRetriesPerRequest: null };
}

/**
 * A plain client that has answered PING. ioredis and BullMQ would otherwise retry an unreachable server
 * forever, so a typo in --queue would look like a queue with no work.
 */
export async function connectRedis(url: string, timeoutMs = 3000): Promise<Redis> {
  connectionFor(url);
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', () => {}); // the failure is reported by connect() below
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    throw new QueueUnreachableError(`--queue ${url}: Redis is unreachable (${(e as Error).message})`);
  }
  return client;
}

export function openQueue(url: string): Queue<ChunkJob> {
  return new Queue<ChunkJob>(QUEUE_NAME, { connection: connectionFor(url) });
}

/** Identity of one run: same file (path, size, mtime), same store, same encoding → same run, same job ids. */
export function runKey(file: FileIdentity, db: string, encoding: ChunkJob['encoding']): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        file.path,
        file.size,
        file.mtimeMs,
        db,
        encoding.model,
        encoding.pooling,
        encoding.normalize,
        // fp32 runs keep the keys they had before dtypes existed
        ...(encoding.dtype && encoding.dtype !== 'fp32' ? [encoding.dtype] : []),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** A chunk's job id: its byte range within the run, so enqueueing it again adds nothing (BullMQ ids are unique). */
export function jobId(run: string, chunk: Chunk): string {
  return `${run}-${chunk.start}-${chunk.end}`;
}

/** Hash of job id → "embedded bad pid" for chunks whose vectors are in the store. */
export const doneKey = (run: string) => `${QUEUE_NAME}:run:${run}:done`;
/** Hash of job id → error line for chunks that will not be retried. */
export const failedKey = (run: string) => `${QUEUE_NAME}:run:${run}:failed`;
