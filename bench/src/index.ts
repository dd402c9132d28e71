/**
 * `pnpm bench`: attn against its peers, in one run, on the same weights (seeded random, no download).
 *   ours (tfjs wasm / cpu) · onnxruntime-node on our ONNX export · transformers.js on the same file
 * plus a physical reference (a large float32 MatMul in onnxruntime), training steps/s and the tokenizer.
 * Every case runs in a child process (clean peak RSS, one backend per process).
 *
 * Flags: --quick (batch 1 only, short budgets), --only a,b (model names and/or matmul, train, pool, embed,
 * tokenizer, word2vec, images), --embed-docs N (reviews in the "embed IMDB reviews" case, default 1000; `pnpm
 * bench:embed` runs that case alone), --no-readme (do not rewrite bench/README.md), --render FILE (rewrite
 * it from a saved run).
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CaseResult, fixturesDir, type Runtime } from './case.js';
import { TRAIN_FLOPS_FACTOR } from './flops.js';
import { cacheDir, prepareFolder, runCase } from './prepare.js';
import { writeReadmeSection } from './readme.js';
import { MODELS, type ModelSpec } from './specs.js';
import { formatRow, runTokenizerBench, TABLE_HEADER, type TokenizerBenchRow } from './tokenizer.js';
import { torchTrainStep } from './torch.js';
import {
  formatWord2VecRow,
  runWord2VecBench,
  WORD2VEC_TABLE_HEADER,
  type Word2VecBenchRow,
} from './word2vec.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = resolve(here, '..');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? new Set((onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(','))
  : undefined;
const wanted = (name: string) => !only || only.has(name);
/** `--batch N` and `--runtimes a,b`: the inference cases at one batch size or on some runtimes only. */
const flag = (name: string) => {
  const a = args.find((x) => x.startsWith(name));
  return a && (a.includes('=') ? a.split('=')[1] : args[args.indexOf(a) + 1]);
};
const batchOnly = flag('--batch') ? Number(flag('--batch')) : undefined;
const runtimesOnly = flag('--runtimes')?.split(',');
const writeReadme = args.includes('--readme') || (!args.includes('--no-readme') && !quick && !only);
const embedDocsArg = args.find((a) => a.startsWith('--embed-docs'));
const embedDocs = embedDocsArg
  ? Number(embedDocsArg.includes('=') ? embedDocsArg.split('=')[1] : args[args.indexOf(embedDocsArg) + 1])
  : 1000;
const budgetMs = quick ? 4000 : 12000;
const maxIters = quick ? 8 : 20;

export interface Row {
  section: 'inference' | 'train' | 'matmul' | 'pool';
  model: string;
  batch: number;
  runtime: string;
  p50Ms: number;
  p90Ms: number;
  /** Items (sequences or images) per second at p50. */
  throughput: number;
  gflops: number;
  /** CPU time per iteration (p50) and FLOPs per CPU-second: robust to a busy machine. */
  cpuP50Ms: number;
  gflopsPerCpuS: number;
  peakRssMB: number;
  loadMs: number;
  iters: number;
  info?: Record<string, unknown>;
}

const RUNTIME_LABEL: Record<string, string> = {
  'ours-wasm': 'attn (tfjs wasm, 1 thread)',
  'ours-wasm-mt': `attn (tfjs wasm, ${cpus().length} threads)`,
  'ours-onnx': "attn on onnxruntime (runtime: 'onnx')",
  'ours-onnx-q8': "attn on onnxruntime, dtype 'q8'",
  'ours-cpu': 'attn (tfjs cpu)',
  'torch-1': 'PyTorch (python3-torch, OpenBLAS, 1 thread)',
  'ours-native': 'attn (native, onnxruntime, 1 thread)',
  ort: 'onnxruntime-node (our ONNX)',
  tjs: 'transformers.js (our ONNX)',
  'tjs-q8': "transformers.js, dtype 'q8' (our model_quantized.onnx)",
  pipeline: 'attn pipeline, main thread (wasm)',
  'pool-1': 'attn pool, 1 worker (wasm)',
  'pool-2': 'attn pool, 2 workers (wasm)',
};

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * p;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

function toRow(
  section: Row['section'],
  model: string,
  batch: number,
  runtime: string,
  flopsPerItem: number,
  r: CaseResult,
): Row {
  const p50 = percentile(r.latenciesMs, 0.5);
  return {
    section,
    model,
    batch,
    runtime,
    p50Ms: p50,
    p90Ms: percentile(r.latenciesMs, 0.9),
    throughput: (batch * 1000) / p50,
    gflops: (flopsPerItem * batch) / (p50 * 1e6),
    cpuP50Ms: percentile(r.cpuMs, 0.5),
    gflopsPerCpuS: (flopsPerItem * batch) / (percentile(r.cpuMs, 0.5) * 1e6),
    peakRssMB: r.peakRssMB,
    loadMs: r.loadMs,
    iters: r.latenciesMs.length,
    info: r.info,
  };
}

/** Sizes of the prepared models, for the results (weights vs peak RSS). */
const modelInfo = new Map<
  string,
  { label: string; weightsMB: number; onnxMB: number; gflopPerItem: number }
>();

async function prepared(spec: ModelSpec): Promise<string> {
  const dir = await prepareFolder(spec);
  modelInfo.set(spec.name, {
    label: spec.label,
    weightsMB: statSync(join(dir, 'model.safetensors')).size / 1e6,
    onnxMB: statSync(join(dir, 'onnx', 'model.onnx')).size / 1e6,
    gflopPerItem: spec.flopsPerItem / 1e9,
  });
  return dir;
}

/**
 * The MiniLM-shaped folder made loadable by both pipelines up to 512 tokens: the same weights and ONNX file
 * (hard links), tokenizer_config's model_max_length 512 (transformers.js truncates there) and a tokenizer.json
 * (transformers.js reads no vocab.txt), written by @attn/bert's exporter from the same vocab.
 */
async function embedFolder(dir: string): Promise<string> {
  const out = `${dir}-embed512`;
  if (existsSync(join(out, 'tokenizer.json')) && existsSync(join(out, 'tokenizer_config.json'))) return out;
  mkdirSync(join(out, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'onnx/model.onnx']) {
    if (existsSync(join(out, f))) continue;
    try {
      linkSync(join(dir, f), join(out, f));
    } catch {
      copyFileSync(join(dir, f), join(out, f));
    }
  }
  const { bertTokenizerJson } = await import('@attn/bert');
  const vocab = readFileSync(join(dir, 'vocab.txt'), 'utf8')
    .replace(/\r?\n$/, '')
    .split(/\r?\n/);
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  // tokenizer_class: transformers.js gives token_type_ids only to a BertTokenizer (as exportTransformersJsFolder)
  const bertTokens = {
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
  writeFileSync(
    join(out, 'tokenizer_config.json'),
    JSON.stringify({ ...cfg, tokenizer_class: 'BertTokenizer', ...bertTokens, model_max_length: 512 }),
  );
  writeFileSync(
    join(out, 'tokenizer.json'),
    JSON.stringify(bertTokenizerJson(vocab, { modelMaxLength: 512 })),
  );
  return out;
}

export interface EmbedRow {
  runtime: 'attn' | 'attn-file-order' | 'tjs';
  /** Absent in runs saved before q8 (fp32). */
  dtype?: 'fp32' | 'q8';
  docs: number;
  batch: number;
  seconds: number;
  docsPerS: number;
  cpuSeconds: number;
  peakRssMB: number;
  /**
   * Largest |attn − transformers.js| over the components of the reviews that fit in 512 tokens (NaN for
   * transformers.js itself); info.maxAbsDiffTruncated is the same over the truncatedDocs.
   */
  maxAbsDiffVsTjs: number;
  info: Record<string, unknown>;
}

export interface ImagesRow {
  runtime: 'attn' | 'attn-batches' | 'tjs';
  dtype: string;
  images: number;
  batch: number;
  seconds: number;
  imagesPerS: number;
  cpuSeconds: number;
  /** Whole passes measured; seconds and cpuSeconds are their medians. */
  passes: number;
  peakRssMB: number;
  /** Images whose top-1 equals Hugging Face Python's (the fixture gold). */
  agreeWithHf: number;
  info: Record<string, unknown>;
}

/**
 * The real ViT-Tiny of the fixtures as a folder both libraries load: the fixture's own files (hard links)
 * and `onnx/model.onnx` exported by @attn/vit (transformers.js reads only ONNX), made once under the cache.
 */
async function imagesFolder(): Promise<string> {
  const out = join(cacheDir, 'models', 'vit-tiny-tinyimagenet-tjs');
  const made = ['onnx/model.onnx', 'onnx/model_quantized.onnx', 'preprocessor_config.json'];
  if (made.every((f) => existsSync(join(out, f)))) return out;
  log('  exporting the fixture ViT-Tiny to ONNX for transformers.js…');
  await runCase({
    type: 'export-vit',
    from: join(fixturesDir(), 'models', 'vit-tiny-tinyimagenet'),
    dir: out,
  });
  return out;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

function versions(): Record<string, string> {
  return {
    node: process.version,
    'onnxruntime-node': readVersionFrom('bench', 'onnxruntime-node'),
    '@huggingface/transformers': readVersionFrom('bench', '@huggingface/transformers'),
    '@huggingface/tokenizers': readVersionFrom('bench', '@huggingface/tokenizers'),
    '@tensorflow/tfjs-core': readVersionFrom('packages/core-tensor', '@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-backend-wasm': readVersionFrom('packages/core-tensor', '@tensorflow/tfjs-backend-wasm'),
    attn: JSON.parse(readFileSync(join(benchDir, '..', 'packages/core-tensor/package.json'), 'utf8')).version,
  };
}
function readVersionFrom(pkgDir: string, dep: string): string {
  try {
    return JSON.parse(readFileSync(join(benchDir, '..', pkgDir, 'node_modules', dep, 'package.json'), 'utf8'))
      .version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: benchDir, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  // --render results/<run>.json: rewrite this README's results from a saved run, measuring nothing.
  const render = args.find((a) => a.startsWith('--render'));
  if (render) {
    const file = render.includes('=') ? render.split('=')[1]! : args[args.indexOf(render) + 1]!;
    const saved = JSON.parse(readFileSync(resolve(file), 'utf8'));
    // A run of a few cases (--only) would leave the results section with only those: it writes its own sections.
    if (!saved.only) updateReadme(markdown(saved));
    if (saved.images?.length) writeReadmeSection('images', imagesMarkdown(saved));
    return;
  }
  const started = new Date();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}/${process.arch}`,
  };
  const vers = versions();
  log(
    `attn bench — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB; ${quick ? 'quick' : 'full'} run`,
  );
  const rows: Row[] = [];
  const failures: string[] = [];
  let tokenizerRows: TokenizerBenchRow[] = [];
  let word2vecRows: Word2VecBenchRow[] = [];
  const embedRows: EmbedRow[] = [];
  const imagesRows: ImagesRow[] = [];
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const jsonPath = join(benchDir, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  /** Writes the JSON (and README) after every case, so an interrupted run still leaves its numbers. */
  const save = (final = false) => {
    const result = {
      started: started.toISOString(),
      seconds: (Date.now() - started.getTime()) / 1000,
      complete: final,
      mode: quick ? 'quick' : 'full',
      only: only ? [...only] : undefined,
      machine,
      versions: vers,
      commit: gitCommit(),
      loadAverage: loadavg(),
      backends: { ours: ['wasm (1 thread, SIMD)', 'cpu'], webgpu: 'not measured: no GPU on this machine' },
      rows,
      models: Object.fromEntries(modelInfo),
      tokenizer: tokenizerRows,
      word2vec: word2vecRows,
      embed: embedRows,
      images: imagesRows,
      failures,
    };
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    const md = markdown(result);
    if (writeReadme) updateReadme(md);
    // The image job has a section of its own, written when the case has run (pnpm bench:images too).
    const images = imagesRows.length ? imagesMarkdown(result) : '';
    if (images && final && !args.includes('--no-readme') && !quick) writeReadmeSection('images', images);
    if (final) process.stdout.write(`${md}\n${images && `\n${images}\n`}`);
  };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
      log(`  FAILED ${what}: ${(e as Error).message}`);
    }
  };

  // 1. Physical reference: a large float32 MatMul, measured first and again last (the machine's load varies;
  //    the higher figure is the reference).
  const measureMatmul = async () => {
    if (wanted('matmul')) {
      const n = quick ? 1024 : 2048;
      for (const runtime of ['ort', 'ours-wasm', 'ours-wasm-mt'] as const)
        await attempt(`matmul ${runtime}`, async () => {
          const r = await runCase({
            type: 'matmul',
            runtime,
            n,
            budgetMs: quick ? 2000 : 5000,
            maxIters: 20,
          });
          const row = toRow('matmul', `MatMul ${n}×${n}×${n}`, 1, runtime, 2 * n ** 3, r);
          rows.push(row);
          save();
          log(
            `  matmul ${runtime}: ${fmt(row.gflops)} GFLOP/s wall, ${fmt(row.gflopsPerCpuS)} GFLOP per CPU-s`,
          );
        });
    }
  };
  await measureMatmul();

  // 2. Inference, every model × batch × runtime: the small models first, so an interrupted run keeps them.
  for (const spec of [...MODELS]
    .sort((a, b) => a.flopsPerItem - b.flopsPerItem)
    .filter((m) => wanted(m.name))) {
    log(`${spec.label}`);
    let dir: string;
    try {
      dir = await prepared(spec);
    } catch (e) {
      failures.push(`prepare ${spec.name}: ${(e as Error).message.split('\n')[0]}`);
      log(`  FAILED prepare: ${(e as Error).message}`);
      continue;
    }
    const batches = batchOnly ? [batchOnly] : quick ? spec.batches.slice(0, 1) : spec.batches;
    for (const batch of batches) {
      const runtimes: Runtime[] = [
        'ours-wasm',
        'ours-wasm-mt',
        'ours-onnx',
        ...(spec.cpu && batch === 1 ? (['ours-cpu'] as const) : []),
        'ort',
        'tjs',
        // q8 at the jobs' batch sizes: attn's int8 graph, and transformers.js on the same file
        ...(batch > 1 ? (['ours-onnx-q8', 'tjs-q8'] as const) : []),
      ];
      for (const runtime of runtimes.filter((r) => !runtimesOnly || runtimesOnly.includes(r)))
        await attempt(`${spec.name} b${batch} ${runtime}`, async () => {
          const r = await runCase({ type: 'infer', runtime, spec, dir, batch, budgetMs, maxIters });
          const row = toRow('inference', spec.name, batch, runtime, spec.flopsPerItem, r);
          rows.push(row);
          save();
          log(
            `  b${batch} ${runtime}: p50 ${fmt(row.p50Ms, 0)} ms, ${fmt(row.throughput, 2)}/s, ${fmt(row.gflops)} GFLOP/s (${fmt(row.gflopsPerCpuS)} per CPU-s), RSS ${fmt(row.peakRssMB, 0)} MB`,
          );
        });
    }
  }

  // 3. Throughput on every core: the feature-extraction pool vs the single-thread pipeline (MiniLM-shaped).
  if (wanted('pool')) {
    const spec = MODELS.find((m) => m.name === 'minilm')!;
    const texts = 32;
    for (const workers of [0, 1, 2])
      await attempt(`pool ${workers}`, async () => {
        const dir = await prepared(spec);
        const r = await runCase({
          type: 'pool',
          dir,
          workers,
          texts,
          batchSize: 8,
          budgetMs: quick ? 4000 : 10000,
          maxIters: 5,
        });
        const row = toRow(
          'pool',
          'minilm (embed IMDB docs)',
          texts,
          workers === 0 ? 'pipeline' : `pool-${workers}`,
          spec.flopsPerItem,
          r,
        );
        rows.push(row);
        save();
        log(`  pool ${workers} workers: ${fmt(row.throughput, 2)} docs/s, RSS ${fmt(row.peakRssMB, 0)} MB`);
      });
  }

  // 3b. The text-encoding job, "embed IMDB reviews": attn's stream (default device, length-aware) against
  //     transformers.js' feature-extraction pipeline, batch 32, mean pooling, up to 512 tokens.
  if (wanted('embed'))
    await attempt('embed', async () => {
      const spec = MODELS.find((m) => m.name === 'minilm')!;
      const dir = await embedFolder(await prepared(spec));
      const batchSize = 32;
      const vectors: Record<string, Float32Array> = {};
      const runs = [
        ...(['tjs', 'attn', 'attn-file-order'] as const).map((runtime) => ({
          runtime,
          dtype: 'fp32' as const,
        })),
        ...(['tjs', 'attn'] as const).map((runtime) => ({ runtime, dtype: 'q8' as const })),
      ];
      for (const { runtime, dtype } of runs) {
        const out = join(cacheDir, `embed-${runtime}-${dtype}.f32`);
        const r = await runCase({ type: 'embed', runtime, dtype, dir, n: embedDocs, batchSize, out });
        const b = readFileSync(out);
        vectors[`${runtime} ${dtype}`] = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
        // transformers.js cuts a review over 512 tokens without its final [SEP] (HF Python and attn keep it),
        // so the vectors are compared on the reviews that fit; the cut ones are reported apart.
        let diff = Number.NaN;
        let diffTruncated = Number.NaN;
        let truncated = 0;
        if (runtime !== 'tjs') {
          diff = 0;
          diffTruncated = 0;
          // q8 against transformers.js on the same quantised graph
          const t = vectors[`tjs ${dtype}`]!;
          const v = vectors[`${runtime} ${dtype}`]!;
          if (t.length !== v.length) throw new Error(`embed ${runtime}: ${v.length} values, tjs ${t.length}`);
          const lengths = r.info.lengths as number[];
          const H = v.length / lengths.length;
          for (const [d, len] of lengths.entries()) {
            let worst = 0;
            for (let i = d * H; i < (d + 1) * H; i++) worst = Math.max(worst, Math.abs(v[i]! - t[i]!));
            if (len < 512) diff = Math.max(diff, worst);
            else {
              truncated++;
              diffTruncated = Math.max(diffTruncated, worst);
            }
          }
          r.info.truncatedDocs = truncated;
          r.info.maxAbsDiffTruncated = diffTruncated;
          delete r.info.lengths;
        }
        const seconds = r.latenciesMs[0]! / 1000;
        const row: EmbedRow = {
          runtime,
          dtype,
          docs: embedDocs,
          batch: batchSize,
          seconds,
          docsPerS: embedDocs / seconds,
          cpuSeconds: r.cpuMs[0]! / 1000,
          peakRssMB: r.peakRssMB,
          maxAbsDiffVsTjs: diff,
          info: r.info,
        };
        embedRows.push(row);
        save();
        log(
          `  embed ${runtime} ${dtype}: ${fmt(row.docsPerS, 2)} docs/s (${fmt(seconds)} s, ${fmt(row.cpuSeconds)} CPU-s), max |Δ| vs tjs ${diff.toExponential(1)}, RSS ${fmt(row.peakRssMB, 0)} MB${r.info.padding ? `, padding ${JSON.stringify(r.info.padding)}` : ''}`,
        );
      }
    });

  // 3c. The image job, "classify images": the 200 public Tiny-ImageNet JPEGs through the real ViT-Tiny, decoded
  //     and preprocessed from files, batch 16: attn's pipeline (default device) against transformers.js'
  //     image-classification pipeline on the same exported folder; top-1 against Hugging Face Python's.
  if (wanted('images'))
    await attempt('images', async () => {
      const dir = await imagesFolder();
      const gold = JSON.parse(
        readFileSync(join(fixturesDir(), 'golden', 'vit-tiny-tinyimagenet.json'), 'utf8'),
      ) as { images: { file: string; top5_ids: number[] }[] };
      const id2label = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).id2label as Record<
        string,
        string
      >;
      const files = gold.images.map((g) => join(fixturesDir(), 'data', 'tiny-imagenet-val-200', g.file));
      const hfTop1 = gold.images.map((g) => id2label[g.top5_ids[0]!]);
      const batchSize = 16;
      const dtypes = ['fp32', 'q8'] as const;
      const runtimes = ['tjs', 'attn', 'attn-batches'] as const;
      // Rounds of every runtime in turn, so that a busy spell of the shared machine falls on all of them.
      const rounds = quick ? 1 : 3;
      const runs = new Map<string, CaseResult[]>();
      for (let round = 1; round <= rounds; round++)
        for (const dtype of dtypes)
          for (const runtime of runtimes) {
            const r = await runCase({
              type: 'images',
              runtime,
              dir,
              files,
              batchSize,
              dtype,
              budgetMs: quick ? 2000 : 6000,
              maxIters: 3,
            });
            const top1 = r.info.top1 as string[];
            if (top1.length !== files.length)
              throw new Error(`images ${runtime}: ${top1.length} results for ${files.length} images`);
            r.info.agreeWithHf = top1.filter((l, i) => l === hfTop1[i]).length;
            delete r.info.top1;
            const key = `${runtime} ${dtype}`;
            runs.set(key, [...(runs.get(key) ?? []), r]);
            log(
              `  images ${key}, round ${round}: passes of ${r.latenciesMs.map((ms) => fmt(ms / 1000)).join(', ')} s, top-1 = HF on ${r.info.agreeWithHf}/${files.length}`,
            );
          }
      for (const dtype of dtypes)
        for (const runtime of runtimes) {
          const rs = runs.get(`${runtime} ${dtype}`)!;
          const agree = new Set(rs.map((r) => r.info.agreeWithHf as number));
          if (agree.size !== 1) throw new Error(`images ${runtime}: top-1 changed between runs`);
          const seconds =
            percentile(
              rs.flatMap((r) => r.latenciesMs),
              0.5,
            ) / 1000;
          const { agreeWithHf: _, ...info } = rs[0]!.info;
          const row: ImagesRow = {
            runtime,
            dtype,
            images: files.length,
            batch: batchSize,
            seconds,
            imagesPerS: files.length / seconds,
            cpuSeconds:
              percentile(
                rs.flatMap((r) => r.cpuMs),
                0.5,
              ) / 1000,
            passes: rs.reduce((n, r) => n + r.latenciesMs.length, 0),
            peakRssMB: Math.max(...rs.map((r) => r.peakRssMB)),
            agreeWithHf: [...agree][0]!,
            info,
          };
          imagesRows.push(row);
          save();
          log(
            `  images ${runtime} ${dtype}: ${fmt(row.imagesPerS, 1)} images/s (median of ${row.passes} passes: ${fmt(seconds)} s, ${fmt(row.cpuSeconds)} CPU-s), top-1 = HF on ${row.agreeWithHf}/${row.images}, RSS ${fmt(row.peakRssMB, 0)} MB`,
          );
        }
    });

  // 4. Training steps (forward + backward + AdamW) on wasm.
  if (wanted('train')) {
    const jobs: [string, number, number?][] = [
      ['minilm', 8, 128],
      ['vit-tiny', 8],
    ];
    for (const [name, batch, seq] of jobs) {
      const spec = MODELS.find((m) => m.name === name)!;
      await attempt(`train ${name}`, async () => {
        const dir = await prepared(spec);
        const r = await runCase({
          type: 'train',
          spec,
          dir,
          batch,
          seq,
          budgetMs: quick ? 4000 : 15000,
          maxIters: quick ? 3 : 6,
        });
        const row = toRow('train', name, batch, 'ours-wasm', spec.flopsPerItem * TRAIN_FLOPS_FACTOR, r);
        rows.push(row);
        save();
        log(`  train ${name} b${batch}: ${fmt(row.p50Ms, 0)} ms/step, ${fmt(row.throughput, 2)} items/s`);
      });
      // The same step with loss and gradients on onnxruntime-node (NativeTrainStep), AdamW on tfjs.
      await attempt(`train ${name} (native)`, async () => {
        const dir = await prepared(spec);
        const r = await runCase({
          type: 'train',
          spec,
          dir,
          batch,
          seq,
          backend: 'native',
          budgetMs: quick ? 4000 : 15000,
          maxIters: quick ? 3 : 6,
        });
        const row = toRow('train', name, batch, 'ours-native', spec.flopsPerItem * TRAIN_FLOPS_FACTOR, r);
        rows.push(row);
        save();
        log(
          `  train ${name} b${batch} native: ${fmt(row.p50Ms, 0)} ms/step, ${fmt(row.throughput, 2)} items/s`,
        );
      });
      // The peer: PyTorch on one thread (OpenBLAS), the same shapes and step.
      await attempt(`train ${name} (PyTorch)`, async () => {
        const r = await torchTrainStep(spec, batch, seq, 1, quick ? 4000 : 15000, quick ? 3 : 6);
        const row = toRow('train', name, batch, 'torch-1', spec.flopsPerItem * TRAIN_FLOPS_FACTOR, r);
        rows.push(row);
        save();
        log(
          `  train ${name} b${batch} PyTorch: ${fmt(row.p50Ms, 0)} ms/step, ${fmt(row.throughput, 2)} items/s`,
        );
      });
    }
  }

  // 5. Tokenizer (the text-tokenizer engineer's bench).
  if (wanted('tokenizer'))
    await attempt('tokenizer', async () => {
      tokenizerRows = await runTokenizerBench({ repeats: quick ? 1 : 3, log });
    });

  // 6. Word2Vec against gensim (python3-gensim), same corpora and settings.
  if (wanted('word2vec'))
    await attempt('word2vec', async () => {
      word2vecRows = await runWord2VecBench({ log });
    });

  await measureMatmul();
  save(true);
  log(`results: ${jsonPath}${writeReadme ? ' and bench/README.md' : ''}`);
}

function markdown(r: {
  models: Record<string, { label: string; weightsMB: number; onnxMB: number; gflopPerItem: number }>;
  started: string;
  seconds: number;
  complete: boolean;
  loadAverage: number[];
  mode: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  commit: string;
  rows: Row[];
  tokenizer: TokenizerBenchRow[];
  word2vec?: Word2VecBenchRow[];
  embed?: EmbedRow[];
  images?: ImagesRow[];
  failures: string[];
}): string {
  const out: string[] = [];
  out.push(
    `Run ${r.started} (${r.mode}${r.complete ? '' : ', IN PROGRESS or interrupted'}, ${fmt(r.seconds / 60)} min), commit ${r.commit}. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGB} GB, ${r.machine.platform}; load average at the last case ${r.loadAverage.map((x) => x.toFixed(1)).join(' / ')}.`,
  );
  out.push(
    `Versions: ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  const mm = r.rows.filter((x) => x.section === 'matmul');
  const ortMatmul = mm.filter((x) => x.runtime === 'ort').map((x) => x.gflops);
  const ref = ortMatmul.length ? Math.max(...ortMatmul) : Number.NaN;
  const models = Object.entries(r.models);
  if (models.length) {
    out.push(
      '',
      '### Models (seeded random weights)',
      '',
      '| name | shape | weights MB (safetensors) | ONNX MB | GFLOP per item |',
      '|---|---|---:|---:|---:|',
    );
    for (const [name, m] of models)
      out.push(
        `| ${name} | ${m.label} | ${fmt(m.weightsMB, 0)} | ${fmt(m.onnxMB, 0)} | ${fmt(m.gflopPerItem, 2)} |`,
      );
  }
  if (mm.length) {
    out.push(
      '',
      '### Physical reference: float32 MatMul',
      '',
      '| what | GFLOP/s (wall) | GFLOP per CPU-s |',
      '|---|---:|---:|',
    );
    for (const x of mm)
      out.push(
        `| ${x.model}, ${RUNTIME_LABEL[x.runtime] ?? x.runtime} | ${fmt(x.gflops)} | ${fmt(x.gflopsPerCpuS)} |`,
      );
  }
  const inf = r.rows.filter((x) => x.section === 'inference' || x.section === 'pool');
  if (inf.length) {
    out.push(
      '',
      '### Inference (same weights, same inputs)',
      '',
      '| model | batch | runtime | p50 ms | p90 ms | items/s | GFLOP/s | % of MatMul ref | CPU-s per batch | GFLOP per CPU-s | peak RSS MB | vs transformers.js | vs onnxruntime |',
      '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const x of inf) {
      const peer = (rt: string) =>
        inf.find((y) => y.model === x.model && y.batch === x.batch && y.runtime === rt)?.throughput;
      const ratio = (rt: string) =>
        x.runtime === rt ? '1.00×' : `${fmt(x.throughput / (peer(rt) ?? Number.NaN), 2)}×`;
      out.push(
        `| ${x.model} | ${x.batch} | ${RUNTIME_LABEL[x.runtime] ?? x.runtime} | ${fmt(x.p50Ms, 0)} | ${fmt(x.p90Ms, 0)} | ${fmt(x.throughput, 2)} | ${fmt(x.gflops)} | ${fmt((100 * x.gflops) / ref, 0)} % | ${fmt(x.cpuP50Ms / 1000, 2)} | ${fmt(x.gflopsPerCpuS)} | ${fmt(x.peakRssMB, 0)} | ${ratio('tjs')} | ${ratio('ort')} |`,
      );
    }
  }
  const tr = r.rows.filter((x) => x.section === 'train');
  if (tr.length) {
    out.push(
      '',
      '### Training step (forward + backward + AdamW): attn on tfjs wasm vs PyTorch, one thread each',
      '',
      '| model | batch | runtime | ms/step (p50) | items/s | GFLOP/s (≈3× forward) | GFLOP per CPU-s | peak RSS MB | vs PyTorch | vs PyTorch (CPU) |',
      '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const x of tr) {
      const torch = tr.find((y) => y.runtime === 'torch-1' && y.model === x.model && y.batch === x.batch);
      const vs = (a: number, b?: number) => (b ? `${fmt(a / b, 2)}×` : '–');
      out.push(
        `| ${x.model} | ${x.batch} | ${RUNTIME_LABEL[x.runtime] ?? x.runtime} | ${fmt(x.p50Ms, 0)} | ${fmt(x.throughput, 2)} | ${fmt(x.gflops)} | ${fmt(x.gflopsPerCpuS)} | ${fmt(x.peakRssMB, 0)} | ${vs(x.throughput, torch?.throughput)} | ${vs(x.gflopsPerCpuS, torch?.gflopsPerCpuS)} |`,
      );
    }
  }
  if (r.tokenizer.length) {
    out.push('', '### Tokenizer: @attn/text-tokenizer vs @huggingface/tokenizers', '', TABLE_HEADER);
    for (const t of r.tokenizer) out.push(formatRow(t));
  }
  if (r.word2vec?.length) {
    out.push('', '### Word2Vec: @attn/attention vs gensim 4.2 (workers=1)', '', WORD2VEC_TABLE_HEADER);
    for (const w of r.word2vec) out.push(formatWord2VecRow(w));
  }
  if (r.embed?.length) {
    const tjs = r.embed.find((x) => x.runtime === 'tjs' && (x.dtype ?? 'fp32') === 'fp32');
    const label = {
      attn: 'attn stream, length-aware',
      'attn-file-order': 'attn stream, file order',
      tjs: 'transformers.js feature-extraction',
    };
    out.push(
      '',
      `### Embed IMDB reviews (MiniLM-shaped, mean pooling, batch ${r.embed[0]!.batch}, up to 512 tokens)`,
      '',
      '| runtime | docs | docs/s | vs transformers.js (fp32) | CPU-s | docs per CPU-s | vs transformers.js (CPU) | peak RSS MB | max abs diff vs transformers.js (reviews ≤ 512 tokens; cut reviews) | padding (linear / quadratic) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const x of r.embed) {
      const p = x.info.padding as Record<string, number> | undefined;
      const pad = !p
        ? ''
        : x.runtime === 'attn'
          ? `${fmt(p.lengthAware!, 2)}× / ${fmt(p.lengthAwareQuadratic!, 2)}× (file order ${fmt(p.fileOrder!, 2)}× / ${fmt(p.fileOrderQuadratic!, 2)}×)`
          : `${fmt(p.fileOrder!, 2)}× / ${fmt(p.fileOrderQuadratic!, 2)}×`;
      out.push(
        `| ${label[x.runtime]}${x.dtype === 'q8' ? ', q8' : ''}${x.info.device ? ` (${x.info.device})` : ''} | ${x.docs} | ${fmt(x.docsPerS, 2)} | ${fmt(x.docsPerS / (tjs?.docsPerS ?? Number.NaN), 2)}× | ${fmt(x.cpuSeconds)} | ${fmt(x.docs / x.cpuSeconds, 2)} | ${fmt((tjs?.cpuSeconds ?? Number.NaN) / x.cpuSeconds, 2)}× | ${fmt(x.peakRssMB, 0)} | ${Number.isNaN(x.maxAbsDiffVsTjs) ? '–' : `${x.maxAbsDiffVsTjs.toExponential(1)}; ${x.info.truncatedDocs} cut: ${(x.info.maxAbsDiffTruncated as number).toExponential(1)}`} | ${pad} |`,
      );
    }
  }
  if (r.failures.length) out.push('', '### Failed cases', '', ...r.failures.map((f) => `- ${f}`));
  return out.join('\n');
}

/** The "classify images" section: the run, the table, and how often each library agrees with Python. */
function imagesMarkdown(r: {
  started: string;
  commit: string;
  loadAverage: number[];
  machine: Record<string, unknown>;
  images: ImagesRow[];
}): string {
  const images = r.images;
  const out: string[] = [
    `Run ${r.started}, commit ${r.commit}, ${r.machine.cpu}, ${r.machine.cores} cores; load average at the end ${r.loadAverage.map((x) => x.toFixed(1)).join(' / ')};`,
  ];
  const label = {
    attn: 'attn stream (next batch decoded during the model)',
    'attn-batches': 'attn, one call per batch (no overlap)',
    tjs: 'transformers.js image-classification',
  };
  out.push(
    `${images[0]!.images} JPEGs, batch ${images[0]!.batch}.`,
    '',
    '| runtime | dtype | images/s | vs transformers.js | CPU-s | images per CPU-s | vs transformers.js (CPU) | peak RSS MB | top-1 = Hugging Face Python |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const x of images) {
    const tjs = images.find((y) => y.runtime === 'tjs' && y.dtype === x.dtype);
    out.push(
      `| ${label[x.runtime]}${x.info.device ? `, ${x.info.device}` : ''} | ${x.dtype} | ${fmt(x.imagesPerS)} | ${fmt(x.imagesPerS / (tjs?.imagesPerS ?? Number.NaN), 2)}× | ${fmt(x.cpuSeconds)} | ${fmt(x.images / x.cpuSeconds)} | ${fmt((tjs?.cpuSeconds ?? Number.NaN) / x.cpuSeconds, 2)}× | ${fmt(x.peakRssMB, 0)} | ${x.agreeWithHf}/${x.images} |`,
    );
  }
  const agree = (rt: ImagesRow['runtime']) =>
    images
      .filter((x) => x.runtime === rt)
      .map((x) => `${x.agreeWithHf}/${x.images} (${x.dtype})`)
      .join(', ');
  const pre = images.find((x) => x.runtime === 'attn')?.info;
  out.push(
    '',
    `Top-1 agreement with Hugging Face Python (transformers 4.31 + Pillow, the fixture gold): attn ${agree('attn')}, transformers.js ${agree('tjs')}. Seconds are medians of ${images[0]!.passes} whole passes (files → top-1) over interleaved rounds.${pre?.preprocessSeconds ? ` Decoding and preprocessing alone take ${fmt(pre.preprocessSeconds as number, 2)} s (${fmt(pre.preprocessCpuSeconds as number, 2)} CPU-s) of a pass in attn.` : ''}`,
  );
  return out.join('\n');
}

function updateReadme(md: string) {
  writeReadmeSection('results', md);
}

await main();
