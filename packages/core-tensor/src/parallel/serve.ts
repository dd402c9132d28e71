/**
 * The worker side of a WorkerPool: `serveWorker(init)` runs `init(workerData)` once (load a backend, a model),
 * reports ready, then answers each request with the handler it returned. A thrown error (sync or async)
 * goes back to the caller; the worker keeps serving.
 */
import { parentPort, type TransferListItem, workerData } from 'node:worker_threads';
import type { SerializedError, WorkerMessage } from './pool.js';

/** A result whose ArrayBuffers move to the main thread instead of being copied (see `transferResult`). */
export class Transfer<Res> {
  constructor(
    readonly value: Res,
    readonly transfer: TransferListItem[],
  ) {}
}
export const transferResult = <Res>(value: Res, transfer: TransferListItem[]) =>
  new Transfer(value, transfer);

export type WorkerHandler<Req, Res> = (request: Req) => Res | Transfer<Res> | Promise<Res | Transfer<Res>>;

export async function serveWorker<Req, Res>(
  init: (data: unknown) => Promise<WorkerHandler<Req, Res>> | WorkerHandler<Req, Res>,
): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serveWorker() must run inside a worker thread');
  const send = (m: WorkerMessage, transfer: TransferListItem[] = []) => port.postMessage(m, transfer);
  let handler: WorkerHandler<Req, Res>;
  try {
    handler = await init(workerData);
  } catch (e) {
    send({ kind: 'error', error: serialize(e) });
    return;
  }
  port.on('message', async ({ id, request }: { id: number; request: Req }) => {
    try {
      const out = await handler(request);
      if (out instanceof Transfer) send({ kind: 'result', id, value: out.value }, out.transfer);
      else send({ kind: 'result', id, value: out });
    } catch (e) {
      send({ kind: 'error', id, error: serialize(e) });
    }
  });
  send({ kind: 'ready' });
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}
