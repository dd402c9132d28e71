/** The LanceDB store on its own (real LanceDB, hand-made vectors): merge on id, concurrent writers, typed errors. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LanceSink, VectorStore, VectorStoreError } from '../src/store/lance.js';
import { LOCK_FILE, StoreLockError, withWriteLock } from '../src/store/lock.js';

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
    // Six connections (separate table handles, as separate workers have): each handle's view of the table can
    // be older than the last commit, which is how an unguarded merge inserts an id another writer just added.
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => VectorStore.create(dir, { ...encoding, dim: 2 })),
    );
    const batch = (k: number, text = 'doc') =>
      Array.from({ length: 5 }, (_, j) => ({ id: `${k}-${j}`, text: `${text} ${k}-${j}`, vector: v(k, j) }));
    await Promise.all(Array.from({ length: 12 }, (_, k) => stores[k % 6]!.upsert(batch(k))));
    // The same ids again from every connection at once, several rounds (a chunk rerun by the stalled check
    // while its first run still writes): still one copy each.
    for (let round = 0; round < 3; round++)
      await Promise.all(stores.map((s, i) => s.upsert([...batch(0, `round ${round}`), ...batch(i + 1)])));
    const rows = await stores[0]!.rows();
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.id)).size).toBe(60);
    expect(rows.find((r) => r.id === '0-0')!.text).toBe('round 2 0-0');
    for (const s of stores) s.close();
  });

  it("write lock: one holder at a time; a dead pid's or a stale lock is broken; a live one times out typed", async () => {
    const dir = join(tmp, 'lock');
    const lock = join(dir, LOCK_FILE);
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withWriteLock(dir, async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 10));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(existsSync(lock)).toBe(false);

    // a pid that has exited, on this host
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    mkdirSync(dir, { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: gone, host: hostname(), time: 'then', token: 'x' }));
    expect(await withWriteLock(dir, async () => 'ran', { timeoutMs: 2000 })).toBe('ran');
    // a live pid on another host whose file stopped being refreshed
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', time: 'then', token: 'y' }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await withWriteLock(dir, async () => 'ran', { staleMs: 30_000, timeoutMs: 2000 })).toBe('ran');
    // a live holder (this process) is waited for, then named
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), time: 'now', token: 'z' }));
    const held = withWriteLock(dir, async () => 'ran', { timeoutMs: 300 });
    await expect(held).rejects.toThrow(StoreLockError);
    await expect(withWriteLock(dir, async () => 'ran', { timeoutMs: 300 })).rejects.toThrow(
      `${lock}: still held after 0 s by pid ${process.pid} on ${hostname()}`,
    );
    expect(existsSync(lock)).toBe(true); // not ours: left alone
    rmSync(lock);
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
