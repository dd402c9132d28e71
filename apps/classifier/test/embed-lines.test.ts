/**
 * `attn embed`'s loop (embedLines) batches by token length within a bounded window: the lines come out in
 * input order, each with the vector it gets alone, and the reader is never more than a window ahead.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { VectorRecord, VectorSink } from '@attn/bert';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedLines } from '../src/commands/embed.js';
import { type Embedder, loadEmbedder } from '../src/engines.js';
import type { Context } from '../src/io.js';
import type { Line } from '../src/lines.js';

function lines(texts: string[]) {
  const state = { pulled: 0 };
  const iterable = (async function* (): AsyncGenerator<Line> {
    for (const [i, text] of texts.entries()) {
      state.pulled++;
      yield { number: i + 1, text, bytes: i };
    }
  })();
  return { state, iterable };
}

describe.skipIf(!haveFixtures('embed lines'))('embedLines, length-aware', () => {
  let model: Embedder;
  beforeAll(async () => {
    model = await loadEmbedder(fixturePath('bert-tiny-random'), {
      pooling: 'mean',
      normalize: true,
      device: 'cpu',
    });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('writes every line in input order with its one-at-a-time vector (1e-5); reads one window ahead at most', async () => {
    const csv = readFileSync(fixturePath('data', 'imdb-sample', 'imdb_test_sample.csv'), 'utf8');
    const reviews = csv
      .split('\n')
      .slice(1, 6)
      .map((l) => l.replace(/^"|",?\d*\r?$/g, '').slice(0, 600));
    const texts: string[] = [];
    for (let i = 0; i < 11; i++) texts.push(i % 3 ? reviews[i % reviews.length]! : `short line ${i}`);
    texts.splice(4, 0, ''); // blank: skipped, numbering kept
    const { state, iterable } = lines(texts);
    const written: VectorRecord[] = [];
    const sink: VectorSink = {
      async write(records) {
        written.push(...records);
        // lines read but not yet written: less than the window (2 × 2) plus the one blank line
        expect(state.pulled - written.length).toBeLessThan(2 * 2 + 1);
      },
      async close() {},
    };
    const stderr = new PassThrough();
    const ctx = { io: { stderr } } as unknown as Context;
    const { done, failed } = await embedLines(
      iterable,
      model,
      sink,
      { batchSize: 2, sortWindow: 2, source: 'test' },
      ctx,
    );
    expect({ done, failed }).toEqual({ done: 11, failed: 0 });
    expect(written.map((r) => r.id)).toEqual(texts.flatMap((t, i) => (t ? [i + 1] : [])));
    for (const r of written) {
      const [alone] = await model.embed([r.text]);
      let worst = 0;
      for (let d = 0; d < alone!.length; d++) worst = Math.max(worst, Math.abs(r.vector[d]! - alone![d]!));
      expect(worst, `line ${r.id}`).toBeLessThanOrEqual(1e-5);
    }
  });
});
