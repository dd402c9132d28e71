export type { SerializedError, WorkerMessage, WorkerPoolOptions } from './pool.js';
export { WorkerPool, WorkerPoolError, WorkerTaskError } from './pool.js';
export type { WorkerHandler } from './serve.js';
export { serveWorker, Transfer, transferResult } from './serve.js';
export { bundleSourceWorker } from './source-worker.js';
