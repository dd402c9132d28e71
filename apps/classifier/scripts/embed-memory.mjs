// Measures `attn embed` over N lines (default 100,000): throughput, and resident memory sampled every
// second, to show it stays flat. Usage (after `pnpm build`): node apps/classifier/scripts/embed-memory.mjs [--lines 100000]
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '100000' },
    backend: { type: 'string', default: 'wasm' },
    'batch-size': { type: 'string', default: '32' },
    model: { type: 'string' },
  },
});
const app = new URL('..', import.meta.url).pathname;
const n = Number(values.lines);
const input = join(tmpdir(), `attn-embed-${n}.txt`);

// Varied lines: the sample mails cut at different points, with the line number, so no two are the same.
const words =
  `${readFileSync(`${app}samples/spam.txt`, 'utf8')} ${readFileSync(`${app}samples/ham.txt`, 'utf8')}`.split(
    /\s+/,
  );
const out = createWriteStream(input);
for (let i = 0; i < n; i++) {
  const start = i % words.length;
  const len = 8 + (i % 17);
  const line = `${i} ${words.slice(start, start + len).join(' ')}\n`;
  if (!out.write(line)) await new Promise((r) => out.once('drain', r));
}
await new Promise((r) => out.end(r));

const t0 = performance.now();
const child = spawn(
  process.execPath,
  [
    `${app}dist/cli.js`,
    '--backend',
    values.backend,
    'embed',
    '--input',
    input,
    '--batch-size',
    values['batch-size'],
    ...(values.model ? ['--model', values.model] : []),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let done = 0;
child.stdout.on('data', (chunk) => {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) done++;
});
const samples = [];
/** CPU seconds (user + system) the child has used: throughput per CPU-second does not depend on machine load. */
let cpuSeconds = 0;
const cpu = () => {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {}
};
const rssMiB = () => {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
  } catch {
    return undefined;
  }
};
const timer = setInterval(() => {
  cpu();
  const rss = rssMiB();
  if (rss !== undefined) samples.push({ s: (performance.now() - t0) / 1000, lines: done, rss });
}, 1000);
const code = await new Promise((r) => child.on('exit', r));
clearInterval(timer);
const seconds = (performance.now() - t0) / 1000;

const peak = Math.max(...samples.map((s) => s.rss));
const at = (frac) => samples.find((s) => s.lines >= n * frac);
console.log(
  `attn embed over ${n} lines, model ${values.model ?? 'spam-bert'}, backend ${values.backend}, batch ${values['batch-size']}: exit ${code}`,
);
console.log(
  `${done} embeddings in ${seconds.toFixed(1)} s = ${(done / seconds).toFixed(0)} lines/s (including model load)`,
);
console.log(
  `CPU time ${cpuSeconds.toFixed(0)} s (sampled each second) = ${(done / cpuSeconds).toFixed(0)} lines per CPU-second`,
);
console.log(`peak RSS ${peak.toFixed(0)} MiB`);
console.log('| lines done | RSS MiB |\n| --- | --- |');
for (const f of [0.1, 0.25, 0.5, 0.75, 0.99]) {
  const s = at(f);
  if (s) console.log(`| ${s.lines} | ${s.rss.toFixed(0)} |`);
}
process.exitCode = code === 0 && done === n ? 0 : 1;
