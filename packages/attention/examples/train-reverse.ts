/**
 * Trains the encoder-decoder Transformer to reverse digit strings on the CPU (wasm backend), seeded and
 * reproducible, then writes the loss curve (docs/reverse-training.svg) and a summary (docs/reverse-training.json).
 * Exits with status 1 if greedy exact-match on the held-out strings is below 99%.
 *
 *   pnpm --filter @attn/attention train:example        (env STEPS, SEED, BACKEND to override)
 */
import { fileURLToPath } from 'node:url';
import { formatAttentionMap } from '@attn/attention';
import { atomicWriteFile, initBackend, tf } from '@attn/core-tensor';
import { lossPlotSvg } from './loss-plot.js';
import { BOS, DIGIT0, encodeSource, trainReverse } from './reverse-task.js';

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

// Where does each output digit look? The last decoder layer's cross-attention, averaged over heads.
const digits = [3, 1, 4, 1, 5, 9, 2];
const reversed = [...digits].reverse();
const [src, tgt] = [
  tf.tensor2d([encodeSource(digits)], undefined, 'int32'),
  tf.tensor2d([[BOS, ...reversed.map((d) => d + DIGIT0)]], undefined, 'int32'),
];
const maps = result.model.crossAttentions(src, tgt);
const averaged = tf.tidy(() => tf.mean(maps.at(-1)!, 1).arraySync() as number[][][]);
tf.dispose([src, tgt, ...maps]);
const alignment = formatAttentionMap(
  averaged[0]!,
  ['<bos>', ...reversed.map(String)].map((q, i) => `${q}→${i < reversed.length ? reversed[i] : '<eos>'}`),
  [...digits.map(String), '<eos>'],
);
console.log(`\ncross-attention (query = decoder input → its prediction, key = source):\n${alignment}\n`);
result.model.dispose();
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
  alignment,
  lossCurve: result.lossCurve,
  validationCurve: result.validationCurve,
};
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
