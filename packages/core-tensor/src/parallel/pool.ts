/**
 * A pool of worker_threads, each holding its own state (its own tfjs backend, its own copy of a model),
 * serving requests one at a time. Used to spread batches over every core, since tfjs-backend-wasm runs on
 * one thread in Node. Errors thrown in a worker reject the caller's promise with the worker's message and
 * stack; a worker that dies rejects its in-flight request; `close()` shuts every worker down.
 *
 * The worker side is `serveWorker(init)` (./serve.ts). Messages: main → worker `{ id, request }`;
 * worker → main `{ kind: 'ready' }`, `{ kind: 'result', id, value }`, `{ kind: 'error', id?, error }`.
 */
import { availableParallelism } from 'node:os';
import { type TransferListItem, Worker } from 'node:worker_threads';

export class WorkerPoolError extends Error {
  override readonly name = 'WorkerPoolError';
}

/** An error thrown inside a worker, re-thrown in the caller with the worker's name, message and stack. */
export class WorkerTaskError extends Error {
  override readonly name = 'WorkerTaskError';
  constructor(
    message: string,
    readonly remoteName: string,
    readonly remoteStack?: string,
  ) {
    super(message);
  }
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id?: number; error: SerializedError };

export interface WorkerPoolOptions {
  /** The worker module (a file URL or path) that calls `serveWorker`; with `eval`, its source code (CommonJS). */
  worker: URL | string;
  eval?: boolean;
  /** Number of workers; default: every core (`os.availableParallelism()`). */
  size?: number;
  /** Passed to each worker's `init` (structured-cloned). */
  workerData?: unknown;
  /** Node flags for the workers (default: the parent's, as Node does). */
  execArgv?: string[];
}

interface Task {
  id: number;
  request: unknown;
  transfer: TransferListItem[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy?: Task;
}

export class WorkerPool<Req = unknown, Res = unknown> {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;

  private constructor() {}

  /** Starts the workers and waits until each has initialised; an init error rejects (and stops the rest). */
  static async create<Req, Res>(opts: WorkerPoolOptions): Promise<WorkerPool<Req, Res>> {
    const size = opts.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1)
      throw new WorkerPoolError(`pool size must be a positive integer, got ${size}`);
    const pool = new WorkerPool<Req, Res>();
    const starting = Array.from({ length: size }, () => pool.spawn(opts));
    const results = await Promise.allSettled(starting);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await pool.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Runs one request on the next free worker. `transfer` lists ArrayBuffers to move instead of copy. */
  run(request: Req, transfer: TransferListItem[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new WorkerPoolError('the pool is closed'));
    if (this.slots.length === 0)
      return Promise.reject(new WorkerPoolError('every worker of the pool has died'));
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        request,
        transfer,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.dispatch();
    });
  }

  /** Stops every worker. Queued and in-flight requests are rejected. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new WorkerPoolError('the pool was closed before this request ran');
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = this.slots.splice(0);
    for (const s of slots) s.busy?.reject(err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(opts: WorkerPoolOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(opts.worker, {
        workerData: opts.workerData,
        execArgv: opts.execArgv,
        eval: opts.eval,
      });
      const slot: Slot = { worker };
      let ready = false;
      worker.on('message', (m: WorkerMessage) => {
        if (m.kind === 'ready') {
          ready = true;
          this.slots.push(slot);
          resolve();
          this.dispatch();
          return;
        }
        if (!ready) {
          if (m.kind === 'error') reject(toError(m.error, 'worker initialisation failed'));
          return;
        }
        const task = slot.busy;
        slot.busy = undefined;
        if (task && m.kind === 'result' && m.id === task.id) task.resolve(m.value);
        else if (task && m.kind === 'error') task.reject(toError(m.error));
        this.dispatch();
      });
      worker.on('error', (e) => {
        if (!ready) reject(e);
        else this.retire(slot, e);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new WorkerPoolError(`a worker exited (code ${code}) before it was ready`));
        else if (!this.closed)
          this.retire(slot, new WorkerPoolError(`a worker exited unexpectedly (code ${code})`));
      });
    });
  }

  /** A worker died: fail its request, drop it, and fail the queue if none is left. */
  private retire(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    slot.busy?.reject(e);
    slot.busy = undefined;
    if (this.slots.length === 0)
      for (const t of this.queue.splice(0))
        t.reject(new WorkerPoolError(`every worker of the pool has died: ${e.message}`));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const task = this.queue.shift();
      if (!task) return;
      slot.busy = task;
      slot.worker.postMessage({ id: task.id, request: task.request }, task.transfer);
    }
  }
}

function toError(e: SerializedError, prefix?: string): WorkerTaskError {
  const err = new WorkerTaskError(prefix ? `${prefix}: ${e.message}` : e.message, e.name, e.stack);
  if (e.stack) err.stack = `${err.name}: ${err.message}\n  — in the worker —\n${e.stack}`;
  return err;
}
