/**
 * `pnpm bench:gpu`: WebGPU on a real GPU, one prepared command. On the same seeded weights (bench/.cache):
 *   inference — attn on tfjs-webgpu (Dawn in Node, the optional `webgpu` package) against transformers.js with
 *               device 'webgpu' (onnxruntime-node's WebGPU execution provider) on our ONNX export of the same
 *               weights: BERT-base batch 32 × 128 tokens, ViT-base/16 batch 16;
 *   training  — one fine-tuning step (forward + backward + AdamW, MiniLM-shaped 8 × 128) of attn on webgpu
 *               against attn's own CPU step (tfjs wasm, a thread per core).
 * Writes results/gpu-<time>.json and prints a table; rewrites bench/README.md's GPU results only from a real
 * adapter (or with --readme).
 *
 * Refuses (exit 2, one line) when Dawn finds no adapter or only a software one (SwiftShader, llvmpipe):
 * --allow-software runs anyway, for checking the command end to end on a machine without a GPU.
 * --quick: tiny shapes (2 layers, 64 hidden, batch 2), short budgets: the plumbing, not the speed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, mayHaveGpu, SOFTWARE_ADAPTER } from '@attn/core-tensor';
import type { CaseResult, Runtime } from './case.js';
import { encoderFlops, TRAIN_FLOPS_FACTOR, vitFlops } from './flops.js';
import { prepareFolder, runCase } from './prepare.js';
import { writeReadmeSection } from './readme.js';
import { MODELS, type ModelSpec } from './specs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = resolve(here, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const allowSoftware = args.includes('--allow-software');
const log = (s: string) => process.stderr.write(`${s}\n`);
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** A small copy of a bench shape (same kind and layout), for --quick. */
function tiny(spec: ModelSpec, imageSize?: number): ModelSpec {
  const shape = { layers: 2, hidden: 64, intermediate: 256 };
  const config = {
    ...spec.config,
    num_hidden_layers: shape.layers,
    hidden_size: shape.hidden,
    num_attention_heads: 2,
    intermediate_size: shape.intermediate,
    ...(imageSize && { image_size: imageSize }),
  };
  const seq = spec.kind === 'bert' ? 16 : undefined;
  return {
    ...spec,
    name: `${spec.name}-tiny`,
    label: `${spec.label}, tiny copy (2 L, 64 H)`,
    config,
    seq,
    flopsPerItem:
      spec.kind === 'bert'
        ? encoderFlops(shape, seq!)
        : vitFlops({ ...shape, imageSize: imageSize!, patch: 16, labels: 1000 }),
  };
}

const byName = (name: string) => MODELS.find((m) => m.name === name)!;
const INFER: { spec: ModelSpec; batch: number }[] = quick
  ? [
      { spec: tiny(byName('bert-base')), batch: 2 },
      { spec: tiny(byName('vit-base'), 64), batch: 2 },
    ]
  : [
      { spec: byName('bert-base'), batch: 32 },
      { spec: byName('vit-base'), batch: 16 },
    ];
const TRAIN = quick
  ? { spec: tiny(byName('minilm')), batch: 2, seq: 16 }
  : { spec: byName('minilm'), batch: 8, seq: 128 };
const budgetMs = quick ? 1500 : 10000;
const maxIters = quick ? 3 : 10;

export interface GpuRow {
  section: 'inference' | 'train';
  model: string;
  batch: number;
  runtime: string;
  p50Ms: number;
  itemsPerS: number;
  gflops: number;
  iters: number;
  loadMs: number;
  peakRssMB: number;
  info: Record<string, unknown>;
}

const LABEL: Record<string, string> = {
  'ours-webgpu': 'attn (tfjs-webgpu, Dawn)',
  'tjs-webgpu': "transformers.js (device 'webgpu', onnxruntime-node)",
  webgpu: 'attn training step (tfjs-webgpu)',
  'wasm-mt': `attn training step (tfjs wasm, ${cpus().length} threads)`,
};

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) / 2;
  return (s[Math.floor(i)]! + s[Math.ceil(i)]!) / 2;
}

function toRow(
  section: GpuRow['section'],
  spec: ModelSpec,
  batch: number,
  runtime: string,
  flopsPerItem: number,
  r: CaseResult,
): GpuRow {
  const ms = p50(r.latenciesMs);
  return {
    section,
    model: spec.name,
    batch,
    runtime,
    p50Ms: ms,
    itemsPerS: (batch * 1000) / ms,
    gflops: (flopsPerItem * batch) / (ms * 1e6),
    iters: r.latenciesMs.length,
    loadMs: r.loadMs,
    peakRssMB: r.peakRssMB,
    info: r.info,
  };
}

/** The adapter Dawn gives tfjs, or a one-line refusal. */
async function adapterOrRefuse(): Promise<string> {
  // Without a GPU device node Dawn can only find a software adapter; refusing before loading it keeps
  // the Vulkan loader's own warnings off the terminal.
  if (!allowSoftware && !(await mayHaveGpu())) {
    process.stderr.write(
      'bench:gpu: refusing: no GPU on this machine (no /dev/nvidia0, no /dev/dri/renderD*); --allow-software runs on a software adapter\n',
    );
    process.exit(2);
  }
  let adapter: string;
  try {
    adapter = (await initBackend('webgpu')).adapter ?? 'unknown adapter';
  } catch (e) {
    process.stderr.write(`bench:gpu: no WebGPU adapter: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(2);
  }
  if (SOFTWARE_ADAPTER.test(adapter) && !allowSoftware) {
    process.stderr.write(
      `bench:gpu: refusing: the only WebGPU adapter is software-emulated ("${adapter}"), not a GPU; --allow-software runs anyway\n`,
    );
    process.exit(2);
  }
  return adapter;
}

export function gpuMarkdown(r: {
  started: string;
  adapter: string;
  software: boolean;
  quick: boolean;
  machine: Record<string, unknown>;
  rows: GpuRow[];
  failures: string[];
}): string {
  const out = [
    `Run ${r.started}${r.quick ? ' (--quick: tiny shapes)' : ''}. Adapter: ${r.adapter}${r.software ? ' — SOFTWARE (CPU-emulated): these figures say nothing about a GPU' : ''}. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGB} GB.`,
    '',
    '| what | batch | runtime | p50 ms | items/s | GFLOP/s | ratio | max abs diff vs attn (first 4,096 outputs) |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.rows) {
    const peer = r.rows.find(
      (y) =>
        y.section === x.section &&
        y.model === x.model &&
        y.runtime === (x.section === 'inference' ? 'tjs-webgpu' : 'wasm-mt'),
    );
    const ratio =
      peer && peer !== x
        ? `${fmt(peer.p50Ms / x.p50Ms, 2)}× ${x.section === 'inference' ? 'transformers.js' : 'CPU'}`
        : '';
    out.push(
      `| ${x.section === 'train' ? `train ${x.model}` : x.model} | ${x.batch} | ${LABEL[x.runtime] ?? x.runtime} | ${fmt(x.p50Ms, 0)} | ${fmt(x.itemsPerS, 2)} | ${fmt(x.gflops)} | ${ratio} | ${typeof x.info.maxAbsDiffVsAttn === 'number' ? x.info.maxAbsDiffVsAttn.toExponential(1) : ''} |`,
    );
  }
  if (r.failures.length) out.push('', ...r.failures.map((f) => `- failed: ${f}`));
  return out.join('\n');
}

async function main() {
  const adapter = await adapterOrRefuse();
  const software = SOFTWARE_ADAPTER.test(adapter);
  const started = new Date();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
  };
  log(
    `attn bench:gpu — adapter "${adapter}"${software ? ' (software, --allow-software)' : ''}${quick ? ', quick' : ''}`,
  );
  const rows: GpuRow[] = [];
  const failures: string[] = [];
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const jsonPath = join(benchDir, 'results', `gpu-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = () => ({
    started: started.toISOString(),
    adapter,
    software,
    quick,
    machine,
    rows,
    failures,
  });
  const save = () => writeFileSync(jsonPath, `${JSON.stringify(result(), null, 2)}\n`);
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      // A peer that cannot run here (transformers.js' WebGPU EP) is a row of the report, not the end of it.
      failures.push(`${what}: ${(e as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 300)}`);
      log(`  FAILED ${what}: ${(e as Error).message.slice(0, 2000)}`);
    }
    save();
  };

  for (const { spec, batch } of INFER) {
    const dir = await prepareFolder(spec);
    const heads: Partial<Record<Runtime, number[]>> = {};
    for (const runtime of ['ours-webgpu', 'tjs-webgpu'] as Runtime[])
      await attempt(`${spec.name} b${batch} ${runtime}`, async () => {
        const r = await runCase({ type: 'infer', runtime, spec, dir, batch, budgetMs, maxIters });
        const head = r.info.head as number[];
        delete r.info.head;
        const row = toRow('inference', spec, batch, runtime, spec.flopsPerItem, r);
        heads[runtime] = head;
        // The same weights and inputs: the two libraries' outputs, compared on their first values.
        const ours = heads['ours-webgpu'];
        if (runtime === 'tjs-webgpu' && ours)
          row.info.maxAbsDiffVsAttn = Math.max(...ours.map((v, i) => Math.abs(v - head[i]!)));
        rows.push(row);
        log(`  ${spec.name} b${batch} ${runtime}: p50 ${fmt(row.p50Ms, 0)} ms, ${fmt(row.itemsPerS, 2)}/s`);
      });
  }
  const dir = await prepareFolder(TRAIN.spec);
  for (const backend of ['webgpu', 'wasm-mt'] as const)
    await attempt(`train ${TRAIN.spec.name} ${backend}`, async () => {
      const r = await runCase({
        type: 'train',
        spec: TRAIN.spec,
        dir,
        batch: TRAIN.batch,
        seq: TRAIN.seq,
        backend,
        budgetMs: quick ? budgetMs : 20000,
        maxIters: quick ? 3 : 6,
      });
      const flops = TRAIN.spec.flopsPerItem * TRAIN_FLOPS_FACTOR; // its seq is TRAIN.seq
      const row = toRow('train', TRAIN.spec, TRAIN.batch, backend, flops, r);
      rows.push(row);
      log(
        `  train ${TRAIN.spec.name} ${backend}: ${fmt(row.p50Ms, 0)} ms/step, losses ${JSON.stringify(r.info.losses)}`,
      );
    });
  save();
  const md = gpuMarkdown(result());
  process.stdout.write(`${md}\n`);
  // A software adapter's or a tiny run's figures are no GPU's: they go to the JSON, not the README.
  const readme = args.includes('--readme') || (!software && !quick && !args.includes('--no-readme'));
  if (readme) writeReadmeSection('gpu-results', md);
  log(`results: ${jsonPath}${readme ? ' and bench/README.md' : ''}`);
  process.exit(failures.length ? 1 : 0); // Dawn's device keeps Node alive
}

await main();
