/**
 * Request batching for the server: requests that arrive within `windowMs` of each other run through the model
 * as one batch (up to `maxBatch`), one batch at a time. At most `maxQueue` requests wait; one more is refused
 * at once with QueueFullError (the server answers 429), so a flood cannot grow memory or latency without bound.
 */
import { lengthSortedBatches } from '@attn/bert';
import { runIsolated } from '../batching.js';

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

export interface MicroBatcherOptions<I, O> {
  run: (batch: I[]) => Promise<O[]>;
  maxBatch: number;
  windowMs: number;
  maxQueue: number;
  /**
   * An item's size in the model (its token count). With it, a flush takes up to `sortWindow` batches' worth
   * of waiting requests and runs them in batches of similar length (@attn/bert's length-aware batching), so
   * one long text does not make every short one in its batch pad to its length.
   */
  length?: (item: I) => number;
  /** Batches' worth of waiting requests sorted together when `length` is given (default 4). */
  sortWindow?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<I, O> {
  private readonly queue: Waiting<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** Batches run so far, their sizes and the time spent in them: the server reports them on /healthz. */
  readonly stats = { batches: 0, items: 0, rejected: 0, busyMs: 0, slowestMs: 0 };

  constructor(private readonly options: MicroBatcherOptions<I, O>) {}

  get waiting(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<O> {
    if (this.queue.length >= this.options.maxQueue) {
      this.stats.rejected++;
      return Promise.reject(new QueueFullError(`queue full (${this.options.maxQueue} waiting)`));
    }
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.options.maxBatch) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => void this.flush());
    } else {
      this.timer ??= setTimeout(() => void this.flush(), this.options.windowMs);
    }
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const { maxBatch, length } = this.options;
    // A bounded window: a request waits for at most sortWindow batches ahead of it, as without sorting.
    const taken = this.queue.splice(0, length ? maxBatch * (this.options.sortWindow ?? 4) : maxBatch);
    const batches = length
      ? lengthSortedBatches(
          taken.map((w) => length(w.item)),
          maxBatch,
        ).map((idx) => idx.map((i) => taken[i]))
      : [taken];
    try {
      for (const batch of batches) {
        const started = performance.now();
        const outcomes = await runIsolated(
          batch.map((w) => w.item),
          this.options.run,
        );
        const ms = performance.now() - started;
        this.stats.batches++;
        this.stats.items += batch.length;
        this.stats.busyMs += Math.round(ms);
        this.stats.slowestMs = Math.max(this.stats.slowestMs, Math.round(ms));
        for (const [i, o] of outcomes.entries()) {
          if (o.ok) batch[i].resolve(o.value);
          else batch[i].reject(o.error);
        }
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
