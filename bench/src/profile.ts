/**
 * Where the BERT forward spends its time on tfjs wasm: kernel time and count by kernel name (tf.profile),
 * for a prepared model folder (see index.ts; default: the MiniLM-shaped one). CPU-time based, so it is
 * meaningful on a busy machine.
 *
 *   pnpm --filter @attn/bench profile [--model DIR] [--batch N]
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BertModel } from '@attn/bert';
import { initBackend, tf } from '@attn/core-tensor';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const cache = resolve(fileURLToPath(new URL('.', import.meta.url)), '../.cache/models');
const dir = arg('--model') ?? join(cache, readdirSync(cache).find((d) => d.startsWith('minilm-')) ?? '');
const batch = Number(arg('--batch') ?? 1);
const seq = 128;

await initBackend('wasm');
const model = await BertModel.fromPretrained(dir);
const ids = tf.tensor2d(
  Int32Array.from({ length: batch * seq }, (_, i) => 1000 + ((i * 7919) % 29000)),
  [batch, seq],
  'int32',
);
const forward = () => tf.tidy(() => model.forward({ inputIds: ids }).lastHiddenState);
tf.dispose(forward()); // warm-up

const cpu0 = process.cpuUsage();
const info = await tf.profile(() => forward());
const cpu = process.cpuUsage(cpu0);
const byKernel = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += (k.kernelTimeMs as number) || 0;
  e.n++;
  byKernel.set(k.name, e);
}
const total = [...byKernel.values()].reduce((a, b) => a + b.ms, 0);
console.log(
  `${dir} batch ${batch} × ${seq}: ${info.kernels.length} kernels, ${total.toFixed(0)} ms kernel time, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`,
);
console.log('| kernel | calls | ms | share |\n|---|---:|---:|---:|');
for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms))
  console.log(`| ${name} | ${e.n} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / total).toFixed(1)} % |`);
console.log(`new tensors: ${info.newTensors}, peak bytes: ${(info.peakBytes / 1e6).toFixed(1)} MB`);
