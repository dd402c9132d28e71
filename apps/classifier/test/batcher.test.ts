import { describe, expect, it } from 'vitest';
import { chunks, runIsolated } from '../src/batching.js';
import { MicroBatcher, QueueFullError } from '../src/server/batcher.js';

describe('MicroBatcher', () => {
  it('runs requests that arrive within the window as one batch, at most maxBatch at a time', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({
      maxBatch: 4,
      windowMs: 20,
      maxQueue: 100,
      run: async (xs) => {
        batches.push(xs);
        return xs.map((x) => x * 10);
      },
    });
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.submit(x)));
    expect(out).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
    expect(b.stats).toMatchObject({ batches: 2, items: 6, rejected: 0 });
  });

  it('with length: sorts up to sortWindow batches of waiting requests by length, each gets its own result', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({
      maxBatch: 3,
      windowMs: 20,
      maxQueue: 100,
      length: (x) => x,
      sortWindow: 2,
      run: async (xs) => {
        batches.push(xs);
        return xs.map((x) => x * 10);
      },
    });
    const items = [50, 2, 40, 3, 60, 1, 7, 5];
    const out = await Promise.all(items.map((x) => b.submit(x)));
    expect(out).toEqual(items.map((x) => x * 10));
    // the first window (6 requests) sorted, then the rest
    expect(batches).toEqual([
      [1, 2, 3],
      [40, 50, 60],
      [5, 7],
    ]);
    expect(b.stats).toMatchObject({ batches: 3, items: 8 });
  });

  it('refuses with QueueFullError once maxQueue requests wait', async () => {
    const b = new MicroBatcher<number, number>({
      maxBatch: 1,
      windowMs: 30,
      maxQueue: 2,
      run: async (xs) => xs,
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((x) => b.submit(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError);
    expect(b.stats.rejected).toBe(2);
  });

  it('gives each request of a failing batch its own result or its own error', async () => {
    const b = new MicroBatcher<number, number>({
      maxBatch: 8,
      windowMs: 10,
      maxQueue: 8,
      run: async (xs) => {
        if (xs.includes(-1)) throw new RangeError('negative input');
        return xs.map((x) => x + 1);
      },
    });
    const results = await Promise.allSettled([1, -1, 2].map((x) => b.submit(x)));
    expect(results[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(results[1].status).toBe('rejected');
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).toBe('negative input');
    expect(results[2]).toEqual({ status: 'fulfilled', value: 3 });
  });
});

describe('batching helpers', () => {
  it('runIsolated re-runs a failed batch item by item', async () => {
    const calls: string[][] = [];
    const out = await runIsolated(['a', 'bad', 'c'], async (xs) => {
      calls.push(xs);
      if (xs.includes('bad')) throw new Error('bad item');
      return xs.map((x) => x.toUpperCase());
    });
    expect(calls).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
    expect(out.map((o) => (o.ok ? o.value : 'error'))).toEqual(['A', 'error', 'C']);
  });

  it('chunks splits into consecutive groups', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
