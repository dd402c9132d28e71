/**
 * `pnpm bench:browser`: attn against transformers.js in the same Chromium (Debian's, driven by Playwright), on
 * the same weights and the same inputs: a MiniLM-shaped BERT (seq 128) and ViT-Tiny, at batch 1 and at a
 * batch of 32 / 16.
 *   attn: tfjs wasm (and webgpu where the page finds a real adapter; SwiftShader is skipped, it measures the
 *   CPU emulating a GPU) · transformers.js: onnxruntime-web wasm (and webgpu likewise)
 * Each library runs in its own page, bundled by esbuild as a user's bundler would (platform=browser). The
 * page is cross-origin isolated (COOP/COEP), so both wasm runtimes may use threads; the thread counts they
 * chose are recorded. CPU time is the Chromium process tree's (user + system) over the timed loop: on a busy
 * machine it measures the work, where wall time measures the neighbours.
 *
 * Flags: --quick (batch 1 only, short budgets), --no-readme (do not rewrite bench/README.md's browser table).
 */

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHROMIUM, chromiumArgs } from '@attn/core-tensor/testing';
import { type Browser, chromium } from 'playwright-core';
import { bertInputs, pixels } from './inputs.js';
import { cacheDir, prepareFolder } from './prepare.js';
import { MODELS, type ModelSpec } from './specs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = resolve(here, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const writeReadme = !args.includes('--no-readme') && !quick;
const budgetMs = quick ? 3000 : 10000;
const maxIters = quick ? 5 : 20;
const log = (s: string) => process.stderr.write(`${s}\n`);

type Lib = 'attn' | 'tjs';
type Device = 'wasm' | 'webgpu';

export interface BrowserRow {
  model: string;
  batch: number;
  lib: Lib;
  device: Device;
  /** What the page reported: threads of the wasm runtime, or the adapter. */
  engine: string;
  p50Ms: number;
  throughput: number;
  /** Chromium's CPU time per item over the timed loop. */
  cpuMsPerItem: number;
  loadMs: number;
  iters: number;
  /** Largest |attn − transformers.js| over the compared output values (on the transformers.js row). */
  maxAbsDiff?: number;
}

/** The page each library runs in. `window.bench.load(...)` then `window.bench.time(...)`. */
const PAGES: Record<Lib, string> = {
  attn: `
import { initBackend, tf } from '@attn/core-tensor';
import { BertModel } from '@attn/bert';
import { ViTForImageClassification } from '@attn/vit';
let step, engine;
window.bench = {
  async load({ kind, device, batch, seq, size, input }) {
    let info;
    try {
      info = await initBackend(device);
    } catch (e) {
      return { unavailable: String(e.message ?? e) };
    }
    if (info.adapter && /swiftshader|llvmpipe|lavapipe|software/i.test(info.adapter))
      return { unavailable: 'software adapter ' + info.adapter };
    engine = info.adapter ?? (info.threads ? info.threads + (info.threads === 1 ? ' thread' : ' threads') : tf.getBackend());
    const raw = await (await fetch('/inputs/' + input)).arrayBuffer();
    const t0 = performance.now();
    if (kind === 'bert') {
      const model = await BertModel.fromPretrained('/models/' + kind + '/');
      const loadMs = performance.now() - t0;
      const ids = new Int32Array(raw);
      step = async () => {
        const out = tf.tidy(() => {
          const shape = [batch, seq];
          return model.forward({
            inputIds: tf.tensor2d(ids, shape, 'int32'),
            attentionMask: tf.ones(shape, 'int32'),
            tokenTypeIds: tf.zeros(shape, 'int32'),
          }).lastHiddenState;
        });
        const v = await out.data();
        out.dispose();
        return v;
      };
      return { engine, loadMs };
    }
    const model = await ViTForImageClassification.fromPretrained('/models/' + kind + '/');
    const loadMs = performance.now() - t0;
    const px = new Float32Array(raw);
    step = async () => {
      const logits = tf.tidy(() => model.forward(tf.tensor4d(px, [batch, 3, size, size])).logits);
      const v = await logits.data();
      logits.dispose();
      return v;
    };
    return { engine, loadMs };
  },
  time: (budgetMs, maxIters) => timeLoop(step, budgetMs, maxIters),
};
`,
  tjs: `
import { AutoModel, AutoModelForImageClassification, Tensor, env } from '@huggingface/transformers';
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = '/ort/';
let step, engine;
window.bench = {
  async load({ kind, device, batch, seq, size, input, threads }) {
    if (device === 'webgpu') {
      const adapter = await navigator.gpu?.requestAdapter();
      const name = adapter ? [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' ') : '';
      if (!adapter) return { unavailable: 'no WebGPU adapter' };
      if (adapter.info?.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(name))
        return { unavailable: 'software adapter ' + name };
      engine = name;
    } else {
      if (threads) env.backends.onnx.wasm.numThreads = threads;
      const n = env.backends.onnx.wasm.numThreads;
      engine = n ? n + (n === 1 ? ' thread' : ' threads') : 'default threads';
    }
    const raw = await (await fetch('/inputs/' + input)).arrayBuffer();
    const t0 = performance.now();
    const Auto = kind === 'bert' ? AutoModel : AutoModelForImageClassification;
    const model = await Auto.from_pretrained(kind, { dtype: 'fp32', device });
    const loadMs = performance.now() - t0;
    if (kind === 'bert') {
      const ids = BigInt64Array.from(new Int32Array(raw), (x) => BigInt(x));
      const dims = [batch, seq];
      step = async () => {
        const out = await model({
          input_ids: new Tensor('int64', ids, dims),
          attention_mask: new Tensor('int64', new BigInt64Array(batch * seq).fill(1n), dims),
          token_type_ids: new Tensor('int64', new BigInt64Array(batch * seq), dims),
        });
        return out.last_hidden_state.data;
      };
    } else {
      const px = new Float32Array(raw);
      step = async () => (await model({ pixel_values: new Tensor('float32', px, [batch, 3, size, size]) })).logits.data;
    }
    return { engine, loadMs };
  },
  time: (budgetMs, maxIters) => timeLoop(step, budgetMs, maxIters),
};
`,
};

/** Shared by both pages: one warm-up run, then runs until the budget is spent (2 ≤ runs ≤ maxIters). */
const TIME_LOOP = `
async function timeLoop(step, budgetMs, maxIters) {
  const first = await step();
  const sample = Array.from(first.slice(0, 4096), Number);
  const latencies = [];
  const t0 = performance.now();
  while (latencies.length < 2 || (latencies.length < maxIters && performance.now() - t0 < budgetMs)) {
    const t = performance.now();
    await step();
    latencies.push(performance.now() - t);
  }
  return { latencies, sample };
}
`;

/** esbuild as tsx ships it: the bench adds no bundler of its own. */
async function bundle(lib: Lib): Promise<string> {
  const require = createRequire(import.meta.url);
  const esbuildPath = createRequire(require.resolve('tsx/package.json')).resolve('esbuild');
  const esbuild = (await import(pathToFileURL(esbuildPath).href)) as {
    build(o: Record<string, unknown>): Promise<{ outputFiles: { path: string; text: string }[] }>;
  };
  const r = await esbuild.build({
    stdin: { contents: TIME_LOOP + PAGES[lib], resolveDir: benchDir, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    minify: true,
    logLevel: 'silent',
    outdir: 'out',
    // transformers.js' web build names Node modules it never loads in a page.
    external: ['fs', 'path', 'url', 'sharp', 'onnxruntime-node'],
  });
  return r.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
}

/**
 * The `dist` folder of `pkg` as Node would find it from `fromDir` (its node_modules, then each parent's), read
 * from disk because neither package exports its package.json.
 */
function packageDist(fromDir: string, pkg: string): string {
  for (let dir = realpathSync(fromDir); ; dir = dirname(dir)) {
    const candidate = basename(dir) === 'node_modules' ? join(dir, pkg) : join(dir, 'node_modules', pkg);
    if (existsSync(join(candidate, 'package.json'))) return join(realpathSync(candidate), 'dist');
    if (dirname(dir) === dir) throw new Error(`bench:browser: ${pkg} is not installed (from ${fromDir})`);
  }
}

/** CPU seconds (user + system) of every live process below this one: Chromium's browser, GPU and renderers. */
function treeCpuSeconds(): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      const ppid = Number(f[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // the process ended while we read
    }
  }
  let total = 0;
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    total += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total / 100; // USER_HZ
}

interface Served {
  server: Server;
  base: string;
}

async function serve(folders: Record<string, string>, inputs: Map<string, Buffer>): Promise<Served> {
  const pages = { attn: await bundle('attn'), tjs: await bundle('tjs') };
  const tfjsWasm = packageDist(
    join(benchDir, '..', 'packages', 'core-tensor'),
    '@tensorflow/tfjs-backend-wasm',
  );
  // onnxruntime-web as transformers.js resolves it: the version it was built against.
  const ortWasm = packageDist(
    resolve(packageDist(benchDir, '@huggingface/transformers'), '..'),
    'onnxruntime-web',
  );
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const headers = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    };
    const send = (type: string, body: string | Buffer) =>
      res.writeHead(200, { ...headers, 'content-type': type }).end(body);
    const page = /^\/(attn|tjs)\/$/.exec(path);
    if (page)
      return send(
        'text/html',
        `<!doctype html><meta charset="utf-8"><script type="module" src="/${page[1]}/app.js"></script>`,
      );
    const app = /^\/(attn|tjs)\/app\.js$/.exec(path);
    if (app) return send('text/javascript', pages[app[1] as Lib]);
    const input = /^\/inputs\/([\w.-]+)$/.exec(path);
    if (input && inputs.has(input[1]!)) return send('application/octet-stream', inputs.get(input[1]!)!);
    // tfjs fetches its .wasm from the folder of the page's script (/attn/); onnxruntime-web from wasmPaths.
    const tfjs = /^\/attn\/(tfjs-backend-wasm[\w-]*\.wasm)$/.exec(path);
    const ort = /^\/ort\/(ort-wasm[\w-.]*\.(?:wasm|mjs))$/.exec(path);
    const model = /^\/models\/(\w+)\/([\w./-]+)$/.exec(path);
    const file = tfjs
      ? join(tfjsWasm, tfjs[1]!)
      : ort
        ? join(ortWasm, ort[1]!)
        : model && folders[model[1]!] && !model[2]!.includes('..')
          ? join(folders[model[1]!]!, model[2]!)
          : undefined;
    if (file && existsSync(file))
      return send(
        file.endsWith('.wasm')
          ? 'application/wasm'
          : file.endsWith('.mjs')
            ? 'text/javascript'
            : file.endsWith('.json')
              ? 'application/json'
              : 'application/octet-stream',
        readFileSync(file),
      );
    res.writeHead(404, headers).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env },
    args: chromiumArgs(),
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)]! + s[Math.ceil(m)]!) / 2;
};

async function measure(
  browser: Browser,
  base: string,
  lib: Lib,
  spec: ModelSpec,
  device: Device,
  batch: number,
  threads: number | undefined,
): Promise<(BrowserRow & { sample: number[]; threadCount?: number }) | { unavailable: string }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${base}/${lib}/`);
    await page.waitForFunction(() => 'bench' in window, undefined, { timeout: 60_000 });
    const kind = spec.kind;
    const loaded = (await page.evaluate(
      (o) => (window as unknown as { bench: { load(o: unknown): Promise<unknown> } }).bench.load(o),
      {
        kind,
        device,
        batch,
        seq: spec.seq ?? 0,
        size: (spec.config.image_size as number) ?? 0,
        input: `${kind}-${batch}.bin`,
        threads,
      },
    )) as { unavailable?: string; engine: string; loadMs: number };
    if (loaded.unavailable) return { unavailable: loaded.unavailable };
    const cpu0 = treeCpuSeconds();
    const timed = (await page.evaluate(
      ([b, m]) =>
        (window as unknown as { bench: { time(b: number, m: number): Promise<unknown> } }).bench.time(b!, m!),
      [budgetMs, maxIters],
    )) as { latencies: number[]; sample: number[] };
    const cpu = treeCpuSeconds() - cpu0;
    if (errors.length) throw new Error(errors.join('\n'));
    const p50 = median(timed.latencies);
    // The CPU window also holds the warm-up run: counted as one more run.
    const runs = timed.latencies.length + 1;
    return {
      model: spec.name,
      batch,
      lib,
      device,
      engine: loaded.engine,
      p50Ms: p50,
      throughput: (batch * 1000) / p50,
      cpuMsPerItem: (cpu * 1000) / (runs * batch),
      loadMs: loaded.loadMs,
      iters: timed.latencies.length,
      sample: timed.sample,
      threadCount: Number.parseInt(loaded.engine, 10) || undefined,
    };
  } finally {
    await page.close();
  }
}

const fmt = (x: number | undefined, d = 1) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '–');

function table(rows: BrowserRow[]): string {
  const lines = [
    '| model | batch | device | attn items/s | transformers.js items/s | ratio | attn CPU ms/item | transformers.js CPU ms/item | ratio by CPU | max abs diff |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const a of rows.filter((r) => r.lib === 'attn')) {
    const t = rows.find(
      (r) => r.lib === 'tjs' && r.model === a.model && r.batch === a.batch && r.device === a.device,
    );
    lines.push(
      `| ${a.model} | ${a.batch} | ${a.device} (attn ${a.engine}; tjs ${t?.engine ?? '–'}) | ${fmt(a.throughput, 2)} | ${fmt(t?.throughput, 2)} | ${t ? `${fmt(a.throughput / t.throughput, 2)}×` : '–'} | ${fmt(a.cpuMsPerItem)} | ${fmt(t?.cpuMsPerItem)} | ${t ? `${fmt(t.cpuMsPerItem / a.cpuMsPerItem, 2)}×` : '–'} | ${t?.maxAbsDiff !== undefined ? t.maxAbsDiff.toExponential(1) : '–'} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`bench:browser needs Chromium at ${CHROMIUM} (set CHROMIUM=…)`);
  const started = new Date();
  const specs = ['minilm', 'vit-tiny'].map((n) => MODELS.find((m) => m.name === n)!);
  const folders: Record<string, string> = {};
  const inputs = new Map<string, Buffer>();
  for (const spec of specs) {
    folders[spec.kind] = await prepareFolder(spec);
    for (const batch of quick ? [1] : spec.batches) {
      const data =
        spec.kind === 'bert'
          ? bertInputs(batch, spec.seq!).ids
          : pixels(batch, spec.config.image_size as number);
      inputs.set(`${spec.kind}-${batch}.bin`, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  const { server, base } = await serve(folders, inputs);
  const browser = await launch();
  const rows: BrowserRow[] = [];
  const skipped: string[] = [];
  try {
    for (const spec of specs)
      for (const batch of quick ? [1] : spec.batches)
        for (const device of ['wasm', 'webgpu'] as const) {
          const attn = await measure(browser, base, 'attn', spec, device, batch, undefined);
          if ('unavailable' in attn) {
            skipped.push(`${spec.name} b${batch} ${device}: attn: ${attn.unavailable}`);
            log(`  ${spec.name} b${batch} ${device}: skipped (${attn.unavailable})`);
            continue;
          }
          // onnxruntime-web gets the threads tfjs chose, so the two runtimes work on the same cores.
          const tjs = await measure(browser, base, 'tjs', spec, device, batch, attn.threadCount);
          if ('unavailable' in tjs) {
            skipped.push(`${spec.name} b${batch} ${device}: transformers.js: ${tjs.unavailable}`);
            continue;
          }
          tjs.maxAbsDiff = attn.sample.reduce((m, v, i) => Math.max(m, Math.abs(v - tjs.sample[i]!)), 0);
          for (const r of [attn, tjs]) {
            const { sample: _s, threadCount: _t, ...row } = r;
            rows.push(row);
          }
          log(
            `  ${spec.name} b${batch} ${device}: attn ${fmt(attn.throughput, 2)}/s (${attn.engine}), transformers.js ${fmt(tjs.throughput, 2)}/s (${tjs.engine}), ratio ${fmt(attn.throughput / tjs.throughput, 2)}×, by CPU ${fmt(tjs.cpuMsPerItem / attn.cpuMsPerItem, 2)}×, max |Δ| ${tjs.maxAbsDiff.toExponential(1)}`,
          );
        }
  } finally {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  }
  const chromiumVersion = browser.version();
  const result = {
    started: started.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg() },
    chromium: chromiumVersion,
    quick,
    rows,
    skipped,
  };
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const jsonPath = join(benchDir, 'results', `browser-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  const md = table(rows);
  process.stdout.write(`${md}\n`);
  if (writeReadme) {
    const readme = join(benchDir, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- browser:begin -->';
    const end = '<!-- browser:end -->';
    const body = `${begin}\nRun ${started.toISOString().slice(0, 16)} UTC, Chromium ${chromiumVersion}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end (\`${basename(jsonPath)}\`).${skipped.length ? ` Not measured: ${skipped.join('; ')}.` : ''}\n\n${md}\n${end}`;
    const next = text.includes(begin)
      ? text.slice(0, text.indexOf(begin)) + body + text.slice(text.indexOf(end) + end.length)
      : `${text.trimEnd()}\n\n## In the browser (\`pnpm bench:browser\`)\n\n${body}\n`;
    writeFileSync(`${readme}.tmp`, next);
    renameSync(`${readme}.tmp`, readme);
  }
  log(`results: ${jsonPath}${writeReadme ? ' and bench/README.md' : ''} (models cached in ${cacheDir})`);
}

main().catch((e) => {
  log(`bench:browser failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
