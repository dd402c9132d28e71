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
