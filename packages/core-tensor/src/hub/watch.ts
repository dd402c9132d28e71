import { PretrainedError } from './errors.js';

export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/**
 * One download's watchdog, shared by the Node downloader (downloadFile) and the page's fetchModelFile:
 * `signal` aborts after `stallMs` without a call to `alive()`, or when the caller's signal aborts, and
 * `reason` says which of the two made a read fail (undefined: the network did).
 */
export interface StallWatch {
  readonly signal: AbortSignal;
  /** A byte (or the response) arrived: restart the stall timer. */
  alive(): void;
  /** The typed error for a failed read, `when` saying how far it got, if the watchdog or the caller caused it. */
  reason(when: string): PretrainedError | undefined;
  /** Stops the timer and releases the request (a body no longer read included). */
  stop(): void;
}

export function watchStall(url: string, stallMs: number, caller?: AbortSignal): StallWatch {
  const controller = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => controller.abort();
  caller?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    alive() {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        controller.abort();
      }, stallMs);
    },
    reason(when) {
      if (stalled) return new PretrainedError('STALLED', url, `no data for ${stallMs} ms ${when}`);
      if (caller?.aborted) return new PretrainedError('ABORTED', url, `aborted ${when}`);
      return undefined;
    },
    stop() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
      controller.abort();
    },
  };
}

/** The body's size from Content-Length, unless fetch decodes a compressed body (then the header is not the size). */
export function bodyLength(res: Response): number | undefined {
  const header = res.headers.get('content-length');
  const encoded = !/^(identity)?$/i.test(res.headers.get('content-encoding')?.trim() ?? '');
  return header === null || encoded ? undefined : Number(header);
}
