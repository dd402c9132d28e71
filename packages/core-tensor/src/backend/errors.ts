import * as tf from '@tensorflow/tfjs-core';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

/** A backend asked for by name could not start; `reason` says why. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
  ) {
    super(`backend "${backend}" is unavailable: ${reason}`);
  }
}

/** Thrown where a tensor would be made with no tfjs backend registered (tfjs' own message names no fix). */
export class BackendNotInitializedError extends Error {
  override readonly name = 'BackendNotInitializedError';
  constructor(what: string) {
    super(
      `${what}: no tfjs backend is running. Call \`await initBackend()\` first, or load through ` +
        '`pipeline(…)` / `fromPretrained(…)`, which start one themselves',
    );
  }
}

export function checkBackend(what: string): void {
  if (tf.engine().backendNames().length === 0) throw new BackendNotInitializedError(what);
}
