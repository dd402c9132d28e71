/**
 * Where sentence vectors go: a small interface that the feature-extraction stream writes into, so the same
 * encoding loop fills a JSONL stream, a vector database or anything else. Store-specific sinks (LanceDB in
 * the attn app) implement it outside this package, so @attn/bert pulls no database client.
 */

import type { Writable } from 'node:stream';
import { node } from '@attn/core-tensor/platform';

/** One encoded document. */
export interface VectorRecord {
  id: string | number;
  text: string;
  vector: Float32Array;
}

export interface VectorSink {
  /** Stores a batch; resolves when the sink can take the next one (backpressure). */
  write(records: VectorRecord[]): Promise<void>;
  /** Flushes and releases what the sink holds. */
  close(): Promise<void>;
}

/** Float32 values printed with 7 significant digits: what a float32 holds, half the bytes of a double's digits. */
export function formatVector(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + Number(v[i].toPrecision(7));
  return `${s}]`;
}

/** JSONL `{"id", "embedding"}` lines on a stream; the stream stays open (it may be stdout). */
export class JsonlSink implements VectorSink {
  constructor(private readonly out: Writable) {}

  async write(records: VectorRecord[]): Promise<void> {
    for (const r of records) {
      const line = `{"id":${JSON.stringify(r.id)},"embedding":${formatVector(r.vector)}}\n`;
      if (!this.out.write(line)) await node.events.once(this.out, 'drain');
    }
  }

  async close(): Promise<void> {}
}

/** The one operation the sink loop needs from a feature-extraction pipeline (or a pool of them). */
export interface DocumentStreamer<O> {
  stream(documents: AsyncIterable<string>, opts?: O & { batchSize?: number }): AsyncIterable<Float32Array>;
}

/**
 * Encodes `documents` with the pipeline's own `stream` (its batching, its input order) and writes them into
 * `sink` in batches of `batchSize`. Returns how many were written. The sink is not closed: the caller owns it.
 */
export async function streamInto<O>(
  pipe: DocumentStreamer<O>,
  documents:
    | AsyncIterable<{ id: string | number; text: string }>
    | Iterable<{ id: string | number; text: string }>,
  sink: VectorSink,
  opts: O & { batchSize?: number } = {} as O & { batchSize?: number },
): Promise<number> {
  // stream() pulls texts ahead of the vectors it yields; the documents it has pulled wait here in order.
  const pending: { id: string | number; text: string }[] = [];
  async function* texts(): AsyncGenerator<string> {
    for await (const doc of documents) {
      pending.push(doc);
      yield doc.text;
    }
  }
  const batchSize = opts.batchSize ?? 32;
  let batch: VectorRecord[] = [];
  let written = 0;
  for await (const vector of pipe.stream(texts(), opts)) {
    const doc = pending.shift()!;
    batch.push({ id: doc.id, text: doc.text, vector });
    if (batch.length === batchSize) {
      await sink.write(batch);
      written += batch.length;
      batch = [];
    }
  }
  if (batch.length) {
    await sink.write(batch);
    written += batch.length;
  }
  return written;
}
