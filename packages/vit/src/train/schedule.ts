/** Linear warm-up to `peak` over `warmup` steps, then cosine decay to `peak · finalFraction` at `total` steps. */
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
