/** A cli-progress bar on stderr when stderr is a terminal; nothing otherwise (logs and pipes stay clean). */
import cliProgress from 'cli-progress';
import type { Context } from './io.js';

export interface Bar {
  /** `payload.total`, when a number, becomes the bar's total. */
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

export function progressBar(
  ctx: Context,
  format: string,
  total: number,
  payload: Record<string, unknown> = {},
): Bar {
  if (!ctx.io.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format, stream: ctx.io.stderr, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  return {
    // cli-progress keeps `total` out of the payload: a total learnt later (steps of a training run) is set here.
    update: (v, p) => {
      if (typeof p?.total === 'number' && p.total !== bar.getTotal()) bar.setTotal(p.total);
      bar.update(v, p);
    },
    stop: () => bar.stop(),
  };
}
