/**
 * At most `limit` calls run at once; up to `maxWaiting` more wait their turn, and one more is refused at once
 * with QueueFullError (the server answers 429). The server puts the attention pictures behind one: each
 * holds every layer's attention and a rendered PNG, and two at once took the process to 6.2 GB.
 */
import { QueueFullError } from './batcher.js';

export class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly limit: number,
    readonly maxWaiting: number,
  ) {
    if (!(Number.isInteger(limit) && limit >= 1))
      throw new RangeError(`Semaphore limit must be >= 1, got ${limit}`);
  }

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting)
        throw new QueueFullError(`${this.limit} running and ${this.waiting.length} waiting`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await call();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
