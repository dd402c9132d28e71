/**
 * Trains the encoder-decoder Transformer to reverse digit strings on the CPU (wasm backend), seeded and
 * reproducible, then writes the loss curve (docs/reverse-training.svg) and a summary (docs/reverse-training.json).
 * Exits with status 1 if greedy exact-match on the held-out strings is below 99%.
 *
 *   pnpm --filter @attn/attention train:example        (env STEPS, SEED, BACKEND to override)
 */
import { fileURLToPath } from 'node:url';
import { atomicWriteFile, initBackend } from '@attn/core-tensor';
import { lossPlotSvg } from './loss-plot.js';
import { trainReverse } from './reverse-task.js';

/** CPU time of this process: on a shared machine it says more about the cost than the wall clock. */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const docs = fileURLToPath(new URL('../docs/', import.meta.url));
const backend = await initBackend((process.env.BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
const seed = Number(process.env.SEED ?? 1);
const result = await trainReverse({
  seed,
  steps: Number(process.env.STEPS ?? 1500),
  targetAccuracy: 0.995,
  onProgress: (step, loss) =>
    console.log(`step ${step}  loss ${loss.toFixed(4)}  (${cpuSeconds().toFixed(0)} s CPU)`),
  onValidation: (step, acc) => console.log(`step ${step}  validation exact match ${(acc * 100).toFixed(1)}%`),
});
const summary = {
  backend: backend.name,
  seed,
  steps: result.steps,
  seconds: Math.round(result.seconds),
  cpuSeconds: Math.round(cpuSeconds()),
  heldOut: result.heldOut,
  accuracy: result.accuracy,
  finalLoss: result.lossCurve.at(-1)?.loss,
  examples: result.examples,
  lossCurve: result.lossCurve,
  validationCurve: result.validationCurve,
};
result.model.dispose();
await atomicWriteFile(`${docs}reverse-training.json`, `${JSON.stringify(summary, null, 1)}\n`);
const title = `Reversing digit strings: ${(result.accuracy * 100).toFixed(1)}% exact match on ${result.heldOut} held-out strings`;
await atomicWriteFile(
  `${docs}reverse-training.svg`,
  lossPlotSvg(result.lossCurve, result.validationCurve, title),
);
console.log(
  `${title} after ${result.steps} steps, ${summary.seconds} s (${summary.cpuSeconds} s CPU) on ${backend.name}`,
);
for (const e of result.examples) console.log(`  ${e.source.join('')} → ${e.predicted.join('')}`);
if (result.accuracy < 0.99) {
  console.error('FAILED: below 99% exact match');
  process.exit(1);
}
