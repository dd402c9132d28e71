/**
 * Text encoding through the job queue: docs/s of `attn embed --queue` with 1 and 2 `attn worker` processes
 * against one `attn embed --db` process, on the IMDB job of the "every core" case (MiniLM-shaped, mean pooling),
 * and the queue's overhead per chunk. Every number is end to end, as a user runs it: each command's process
 * start and model load are inside its time. Needs `redis-server` on PATH (started here on a free port).
 *
 *   pnpm --filter @attn/bench bench:queue [-- --docs 48 --chunk 8]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { corpus, fixturesDir } from './case.js';
import { MODELS, SEED } from './specs.js';

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const appDir = resolve(benchDir, '..', 'apps', 'classifier');
const cli = join(appDir, 'src', 'cli.ts');
const cacheDir = process.env.ATTN_BENCH_CACHE ?? join(benchDir, '.cache');
const log = (s: string) => process.stderr.write(`${s}\n`);

const { values } = parseArgs({
  options: { docs: { type: 'string', default: '48' }, chunk: { type: 'string', default: '8' } },
});
const DOCS = Number(values.docs);
const CHUNK = Number(values.chunk);

/** `attn …` from the TypeScript sources (tsx and the @attn/source condition, as this bench runs). */
function attn(args: string[]): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, cli, '--device', 'wasm', ...args], {
    cwd: appDir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function timed(args: string[]): Promise<number> {
  const t0 = performance.now();
  const p = attn(args);
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => p.on('close', r));
  if (code !== 0) throw new Error(`attn ${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`);
  return performance.now() - t0;
}

async function startWorkers(n: number, url: string): Promise<ChildProcess[]> {
  const procs = Array.from({ length: n }, () => attn(['worker', '--queue', url]));
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((ok, fail) => {
          let err = '';
          p.stderr!.on('data', (d) => {
            err += d;
            if (err.includes('waiting for chunks')) ok();
          });
          p.on('exit', (c) => fail(new Error(`worker exited ${c}: ${err}`)));
        }),
    ),
  );
  return procs;
}

async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      const closed = new Promise((r) => p.on('close', r));
      p.kill('SIGTERM');
      return closed;
    }),
  );
}

/** The MiniLM-shaped folder of the main bench (same seeded weights, same cache entry), prepared if absent. */
async function minilmDir(): Promise<string> {
  const spec = MODELS.find((m) => m.name === 'minilm')!;
  const hash = createHash('sha256')
    .update(JSON.stringify({ c: spec.config, SEED }))
    .digest('hex')
    .slice(0, 10);
  const dir = join(cacheDir, 'models', `${spec.name}-${hash}`);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  log(`preparing ${spec.name} in ${dir}…`);
  const caseFile = join(benchDir, 'src', 'case.ts');
  const p = spawn(
    process.execPath,
    [...process.execArgv, caseFile, JSON.stringify({ type: 'prepare', spec, dir, seed: SEED })],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const code = await new Promise((r) => p.on('close', r));
  if (code !== 0) throw new Error(`preparing ${spec.name} failed (exit ${code})`);
  return dir;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'attn-bench-queue-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 500));
  try {
    const model = await minilmDir();
    const input = join(tmp, 'imdb.txt');
    // distinct lines: the store is keyed by line number, the texts need not differ, but the docs are IMDB reviews
    writeFileSync(
      input,
      `${corpus(DOCS)
        .map((d) => d.replace(/\s+/g, ' '))
        .join('\n')}\n`,
    );
    const embedArgs = (db: string) => [
      'embed',
      '--model',
      model,
      '--input',
      input,
      '--db',
      join(tmp, db),
      '--batch-size',
      '8',
    ];
    const rows: Record<string, number>[] = [];
    const record = (name: string, ms: number, docs = DOCS) => {
      rows.push({ [name]: ms });
      log(`${name}: ${(ms / 1000).toFixed(1)} s, ${((docs * 1000) / ms).toFixed(2)} docs/s`);
      return ms;
    };

    const single = record('single process (attn embed --db)', await timed(embedArgs('single')));
    const perWorkers: Record<number, number> = {};
    for (const n of [1, 2]) {
      const workers = await startWorkers(n, url);
      perWorkers[n] = record(
        `${n} worker${n > 1 ? 's' : ''} (attn embed --queue, ${Math.ceil(DOCS / CHUNK)} chunks)`,
        await timed([...embedArgs(`queue-${n}`), '--queue', url, '--chunk-lines', String(CHUNK)]),
      );
      await stopWorkers(workers);
    }

    // Overhead per chunk: the tiny fixture model (compute ≈ 0), one warm worker, one chunk vs many.
    const tiny = join(fixturesDir(), 'bert-tiny-random');
    const lines = 480;
    const small = join(tmp, 'small.txt');
    writeFileSync(
      small,
      `${Array.from({ length: lines }, (_, i) => `document number ${i} of the overhead run`).join('\n')}\n`,
    );
    const [worker] = await startWorkers(1, url);
    const run = async (db: string, chunk: number) =>
      timed([
        'embed',
        '--model',
        tiny,
        '--input',
        small,
        '--db',
        join(tmp, db),
        '--queue',
        url,
        '--chunk-lines',
        String(chunk),
      ]);
    await run('warm', lines); // loads the model in the worker
    const one = await run('one-chunk', lines);
    const many = await run('many-chunks', 10);
    await stopWorkers([worker!]);
    const overheadMs = (many - one) / (lines / 10 - 1);
    log(
      `overhead per chunk: ${overheadMs.toFixed(1)} ms (1 chunk ${(one / 1000).toFixed(2)} s, 48 chunks ${(many / 1000).toFixed(2)} s)`,
    );

    const result = {
      date: new Date().toISOString(),
      cores: availableParallelism(),
      loadavg: loadavg().map((x) => Number(x.toFixed(1))),
      docs: DOCS,
      chunkLines: CHUNK,
      docsPerSecond: {
        single: (DOCS * 1000) / single,
        workers1: (DOCS * 1000) / perWorkers[1]!,
        workers2: (DOCS * 1000) / perWorkers[2]!,
      },
      overheadPerChunkMs: overheadMs,
    };
    mkdirSync(join(benchDir, 'results'), { recursive: true });
    const out = join(benchDir, 'results', `queue-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    log(JSON.stringify(result));
    log(`wrote ${out}`);
  } finally {
    redis.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
