import { describe, expect, it } from 'vitest';
import { QueueFullError } from '../src/server/batcher.js';
import { Semaphore } from '../src/server/semaphore.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Semaphore (the attention path of the server)', () => {
  it('runs at most `limit` calls at once, in arrival order, and refuses past maxWaiting', async () => {
    const gate = new Semaphore(1, 2);
    let now = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) => async () => {
      peak = Math.max(peak, ++now);
      await tick();
      order.push(i);
      now--;
      return i;
    };
    const runs = [0, 1, 2].map((i) => gate.run(job(i)));
    expect(gate.active).toBe(1);
    expect(gate.queued).toBe(2);
    await expect(gate.run(job(3))).rejects.toBeInstanceOf(QueueFullError);
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(order).toEqual([0, 1, 2]);
    expect(peak).toBe(1);
    expect([gate.active, gate.queued]).toEqual([0, 0]);
  });

  it('a failing call frees its slot', async () => {
    const gate = new Semaphore(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 7)).toBe(7);
    expect(gate.active).toBe(0);
  });

  it('limit 2 lets two run together', async () => {
    const gate = new Semaphore(2, 0);
    let now = 0;
    let peak = 0;
    const job = async () => {
      peak = Math.max(peak, ++now);
      await tick();
      now--;
    };
    await Promise.all([gate.run(job), gate.run(job)]);
    expect(peak).toBe(2);
    expect(() => new Semaphore(0, 1)).toThrow(RangeError);
  });
});
