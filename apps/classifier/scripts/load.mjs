// Load test: starts `attn serve` as its own process, then drives it from this process with autocannon
// (50 concurrent connections, 60 s per endpoint by default) on 127.0.0.1, and prints a markdown table.
// Usage (after `pnpm build`): node apps/classifier/scripts/load.mjs [--duration 60] [--connections 50] [--backend wasm]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '50' },
    backend: { type: 'string', default: 'wasm' },
    port: { type: 'string', default: '8791' },
    'image-model': { type: 'string' },
    'text-model': { type: 'string' },
  },
});
const app = new URL('..', import.meta.url).pathname;
const base = `http://127.0.0.1:${values.port}`;

const server = spawn(
  process.execPath,
  [
    `${app}dist/cli.js`,
    ...['--backend', values.backend, 'serve', '--port', values.port, '--max-queue', '1024'],
    ...(values['image-model'] ? ['--image-model', values['image-model']] : []),
    ...(values['text-model'] ? ['--text-model', values['text-model']] : []),
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
let serverExit;
server.on('exit', (code, signal) => {
  serverExit = { code, signal };
});

async function waitHealthy() {
  for (let i = 0; i < 600; i++) {
    if (serverExit) throw new Error(`server exited early: ${JSON.stringify(serverExit)}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) return r.json();
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy in 60 s');
}

function run(title, { path, ...opts }) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${base}${path}`,
        connections: Number(values.connections),
        duration: Number(values.duration),
        method: 'POST',
        ...opts,
      },
      (err, result) => (err ? reject(err) : resolve({ title, result })),
    );
  });
}

try {
  const health = await waitHealthy();
  const sampleText = readFileSync(`${app}samples/spam.txt`, 'utf8');
  const sampleImage = readFileSync(`${app}samples/digit-7.png`);
  const runs = [
    await run('POST /v1/classify-text', {
      path: '/v1/classify-text',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: sampleText }),
    }),
    await run('POST /v1/classify-image (raw PNG)', {
      path: '/v1/classify-image',
      headers: { 'content-type': 'image/png' },
      body: sampleImage,
    }),
  ];
  const after = await (await fetch(`${base}/healthz`)).json();
  console.log(
    `\nmodels ${JSON.stringify(health.models)}, backend ${health.backend}, ${values.connections} connections, ${values.duration} s per endpoint, node ${process.version}\n`,
  );
  console.log(
    '| endpoint | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | 2xx | 4xx | 5xx | errors |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const { title, result: r } of runs) {
    console.log(
      `| ${title} | ${r.requests.total} | ${r.requests.average.toFixed(1)} | ${r.latency.p50} | ${r.latency.p90} | ${r.latency.p99} | ${r.latency.max} | ${r['2xx']} | ${r['4xx']} | ${r['5xx']} | ${r.errors + r.timeouts} |`,
    );
  }
  console.log(`\nbatches after the run: ${JSON.stringify(after.batches)}`);
  console.log(`server-side latency (request → response, ms): ${JSON.stringify(after.latencyMs)}`);
  const bad = runs.some(({ result: r }) => r['5xx'] > 0 || r.errors > 0 || r['2xx'] === 0) || serverExit;
  console.log(bad ? 'FAIL: 5xx, errors, or the server died' : 'OK: no 5xx, no errors, server alive');
  process.exitCode = bad ? 1 : 0;
} finally {
  server.kill('SIGTERM');
}
