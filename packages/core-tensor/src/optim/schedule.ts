export interface LinearWarmupDecayOptions {
  warmupSteps: number;
  totalSteps: number;
  peakLr: number;
}

/**
 * Learning rate at `step` (0-based, before the optimizer step), as Hugging Face's
 * get_linear_schedule_with_warmup: linear from 0 to peakLr over warmupSteps, then linear to 0 at totalSteps.
 */
export function linearWarmupDecay(
  step: number,
  { warmupSteps, totalSteps, peakLr }: LinearWarmupDecayOptions,
): number {
  if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
  return peakLr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/**
 * Linear warm-up to `peak` over `warmup` steps, then cosine decay to `peak · finalFraction` at `total` steps
 * (ViT training's schedule). Unlike linearWarmupDecay the first step already gets peak/warmup, not 0.
 */
export function warmupCosine(
  step: number,
  total: number,
  peak: number,
  warmup: number,
  finalFraction = 0.02,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** A learning rate for optimizer step `step` (0-based) of `totalSteps`: what the trainer asks each step. */
export type Schedule = (step: number, totalSteps: number) => number;
