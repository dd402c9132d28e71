/** The LanceDB store on its own (real LanceDB, hand-made vectors): merge on id, concurrent writers, typed errors. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LanceSink, VectorStore, VectorStoreError } from '../src/store/lance.js';

const tmp = mkdtempSync(join(tmpdir(), 'attn-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const encoding = { model: 'some/model', pooling: 'mean' as const, normalize: true };
const v = (...xs: number[]) => new Float32Array(xs);

describe('VectorStore / LanceSink', () => {
  it('merges on id: a batch written twice leaves one copy, the second text wins', async () => {
    const dir = join(tmp, 'merge');
    const sink = new LanceSink(dir, encoding);
    await sink.write([
      { id: 1, text: 'one', vector: v(1, 0, 0) },
      { id: 2, text: 'two', vector: v(0, 1, 0) },
    ]);
    await sink.write([{ id: 1, text: 'one again', vector: v(1, 0.5, 0) }]);
    await sink.close();
    const store = await VectorStore.open(dir);
    expect(store.meta).toEqual({ ...encoding, dim: 3 });
    const rows = (await store.rows()).sort((a, b) => a.id.localeCompare(b.id));
    expect(rows.map((r) => [r.id, r.text])).toEqual([
      ['1', 'one again'],
      ['2', 'two'],
    ]);
    expect(Array.from(rows[0]!.vector)).toEqual([1, 0.5, 0]);
    const [best, next] = await store.nearest(v(0, 1, 0), 2);
    expect(best).toMatchObject({ id: '2', text: 'two' });
    expect(best!.score).toBeCloseTo(1, 6);
    expect(next!.score).toBeCloseTo(0.5 / Math.sqrt(1.25), 5);
    store.close();
  });

  it('writers on separate connections merging at once: every row once', async () => {
    const dir = join(tmp, 'concurrent');
    const stores = await Promise.all([0, 1, 2].map(() => VectorStore.create(dir, { ...encoding, dim: 2 })));
    await Promise.all(
      Array.from({ length: 12 }, (_, k) =>
        stores[k % 3]!.upsert(
          Array.from({ length: 5 }, (_, j) => ({ id: `${k}-${j}`, text: `doc ${k}-${j}`, vector: v(k, j) })),
        ),
      ),
    );
    // the same ids again, all at once: still one copy each
    await Promise.all(
      Array.from({ length: 3 }, (_, k) =>
        stores[k]!.upsert([{ id: '0-0', text: 'doc 0-0', vector: v(0, 0) }]),
      ),
    );
    const rows = await stores[0]!.rows();
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.id)).size).toBe(60);
    for (const s of stores) s.close();
  });

  it('typed errors: no table in the folder, a table of another encoding, a vector of the wrong size', async () => {
    const empty = join(tmp, 'empty');
    await expect(VectorStore.open(empty)).rejects.toThrow(VectorStoreError);
    await expect(VectorStore.open(empty)).rejects.toThrow(`${empty}: no "embeddings" table`);
    const dir = join(tmp, 'merge');
    await expect(VectorStore.create(dir, { ...encoding, pooling: 'cls', dim: 3 })).rejects.toThrow(
      /holds .*"pooling":"mean".* this run makes .*"pooling":"cls"/,
    );
    const store = await VectorStore.create(dir, { ...encoding, dim: 3 });
    await expect(store.upsert([{ id: 'x', text: 'x', vector: v(1, 2) }])).rejects.toThrow(
      'vector for id x has 2 values, table has 3',
    );
    store.close();
  });
});
