/**
 * One benchmark case, run in a child process of its own so that its peak RSS is its own and backends never
 * share a process. Reads a JSON `CaseSpec` from argv[2], prints one line `RESULT <json>` on stdout.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// The model packages load lazily, per case: a peer case must not depend on them.
import type * as Bert from '@attn/bert';
import {
  AdamW,
  crossEntropy,
  initBackend,
  noDecayForBiasAndNorm,
  Random,
  setSeed,
  tf,
  variableGradsFreeing,
} from '@attn/core-tensor';
import type * as Vit from '@attn/vit';
import {
  createFeatureExtractionPool,
  exportBertOnnx,
  exportViTOnnx,
  NativeTrainStep,
  OnnxGraph,
  writeOnnxFile,
} from './exporters.js';
import { bertInputs, pixels } from './inputs.js';
import type { ModelSpec } from './specs.js';

export type Runtime =
  | 'ours-wasm'
  | 'ours-wasm-mt'
  | 'ours-onnx'
  | 'ours-native'
  | 'ours-onnx-q8'
  | 'ours-cpu'
  | 'ours-webgpu'
  | 'ort'
  | 'tjs'
  | 'tjs-q8'
  | 'tjs-webgpu';

export type CaseSpec =
  | { type: 'prepare'; spec: ModelSpec; dir: string; seed: number }
  | {
      type: 'infer';
      runtime: Runtime;
      spec: ModelSpec;
      dir: string;
      batch: number;
      budgetMs: number;
      maxIters: number;
    }
  | {
      type: 'train';
      spec: ModelSpec;
      dir: string;
      batch: number;
      seq?: number;
      /**
       * The tfjs backend (default wasm, one thread); 'wasm-mt': a thread per core; 'native': loss and
       * gradients on onnxruntime-node (`NativeTrainStep`, one intra-op thread), AdamW on tfjs wasm (1 thread).
       */
      backend?: 'wasm' | 'wasm-mt' | 'webgpu' | 'native';
      budgetMs: number;
      maxIters: number;
    }
  | {
      type: 'matmul';
      runtime: 'ort' | 'ours-wasm' | 'ours-wasm-mt';
      n: number;
      budgetMs: number;
      maxIters: number;
    }
  | {
      /** The text-encoding job: `n` IMDB reviews, mean pooling, `batchSize` a batch, up to 512 tokens. */
      type: 'embed';
      /** attn's stream (length-aware), attn's stream in file order (sortWindow 1), transformers.js. */
      runtime: 'attn' | 'attn-file-order' | 'tjs';
      /** q8: attn's q8 pipeline, and for transformers.js the same graph exported as onnx/model_quantized.onnx. */
      dtype: 'fp32' | 'q8';
      dir: string;
      n: number;
      batchSize: number;
      /** Where the vectors go (float32, n × H), for the parent to compare. */
      out: string;
    }
  | {
      /** The folder transformers.js loads for a pretrained ViT: its files linked, `onnx/model.onnx` exported. */
      type: 'export-vit';
      from: string;
      dir: string;
    }
  | {
      /**
       * The image job: JPEG files decoded and preprocessed by each library, classified in batches of
       * `batchSize`, top-1 of each image recorded in input order.
       */
      type: 'images';
      /** attn's stream (next batch decoded while the model runs), attn one call per batch, transformers.js. */
      runtime: 'attn' | 'attn-batches' | 'tjs';
      dir: string;
      files: string[];
      batchSize: number;
      /** Passed to both pipelines: q8 is model_quantized.onnx for transformers.js, the same graph for attn. */
      dtype: 'fp32' | 'q8';
      budgetMs: number;
      maxIters: number;
    }
  | {
      type: 'pool';
      dir: string;
      workers: number;
      texts: number;
      batchSize: number;
      budgetMs: number;
      maxIters: number;
    };

export interface CaseResult {
  /** Wall time of each measured iteration (after one warm-up). */
  latenciesMs: number[];
  /** CPU time of the process (all threads) for each iteration. */
  cpuMs: number[];
  /** Time to load the model / create the session. */
  loadMs: number;
  /** Peak resident set size of the whole process, MB. */
  peakRssMB: number;
  /** Free-form facts (threads, file size, loss). */
  info: Record<string, unknown>;
}

/**
 * Runs `step` once to warm up, then until `budgetMs` is spent (at least twice — once when the warm-up alone
 * outlasted the budget — and at most `maxIters` times).
 * Records wall time and this process's CPU time (user + system, all threads) per iteration: on a shared,
 * overloaded machine wall time mostly measures the neighbours, CPU time measures the work.
 */
async function measure(step: () => Promise<void>, budgetMs: number, maxIters: number) {
  const w0 = performance.now();
  await step();
  // A case whose warm-up alone outlasts the budget (BERT-base × 32 on one thread) is measured once more.
  const minIters = performance.now() - w0 > budgetMs ? 1 : 2;
  const latenciesMs: number[] = [];
  const cpuMs: number[] = [];
  const start = performance.now();
  while (
    latenciesMs.length < maxIters &&
    (latenciesMs.length < minIters || performance.now() - start < budgetMs)
  ) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    latenciesMs.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { latenciesMs, cpuMs };
}

async function prepare(c: Extract<CaseSpec, { type: 'prepare' }>): Promise<CaseResult> {
  await initBackend('wasm');
  setSeed(c.seed);
  const t0 = performance.now();
  mkdirSync(join(c.dir, 'onnx'), { recursive: true });
  let bytes: number;
  if (c.spec.kind === 'bert') {
    const { BertModel, bertConfig } = await import('@attn/bert');
    const model = new BertModel(bertConfig(c.spec.config as Parameters<typeof bertConfig>[0]));
    await model.save(c.dir);
    // The bert-base-uncased tokenizer, so pipelines (and the pool) can load the folder.
    // Without the fixtures (a fresh GPU machine) the folder has no tokenizer: the model cases feed ids.
    const tok = join(fixturesDir(), 'tokenizers', 'bert-base-uncased');
    if (existsSync(tok))
      for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(tok, f), join(c.dir, f));
    bytes = exportBertOnnx(model, join(c.dir, 'onnx', 'model.onnx')).bytes;
    model.dispose();
  } else {
    const { ViTConfig, ViTForImageClassification } = await import('@attn/vit');
    const model = new ViTForImageClassification(
      ViTConfig.from(c.spec.config as Parameters<typeof ViTConfig.from>[0]),
    );
    await model.save(c.dir);
    bytes = exportViTOnnx(model, join(c.dir, 'onnx', 'model.onnx')).bytes;
    model.dispose();
  }
  return {
    latenciesMs: [],
    cpuMs: [],
    loadMs: performance.now() - t0,
    peakRssMB: peakRss(),
    info: { onnxBytes: bytes },
  };
}

/** 'ours-wasm-mt': the wasm backend on every core's thread. */
const CORES = availableParallelism();
const ourBackend = (runtime: Runtime) =>
  runtime === 'ours-webgpu'
    ? initBackend('webgpu')
    : initBackend(runtime === 'ours-cpu' ? 'cpu' : 'wasm', {
        threads: runtime === 'ours-wasm-mt' ? CORES : 1,
      });

async function inferOurs(c: Extract<CaseSpec, { type: 'infer' }>): Promise<CaseResult> {
  const info = await ourBackend(c.runtime);
  const { keepHead, headOf } = outputHead(c.runtime);
  // tfjs only holds their inputs and outputs
  if (c.runtime === 'ours-onnx' || c.runtime === 'ours-onnx-q8') return inferOursOnnx(c);
  const t0 = performance.now();
  const seq = c.spec.seq ?? 0;
  let step: () => Promise<void>;
  if (c.spec.kind === 'bert') {
    const { BertModel } = await import('@attn/bert');
    const model = await BertModel.fromPretrained(c.dir);
    const loadMs = performance.now() - t0;
    const x = bertInputs(c.batch, seq);
    step = async () => {
      const out = tf.tidy(() => {
        const shape: [number, number] = [c.batch, seq];
        const o = model.forward({
          inputIds: tf.tensor2d(x.ids, shape, 'int32'),
          attentionMask: tf.tensor2d(x.mask, shape, 'int32'),
          tokenTypeIds: tf.tensor2d(x.types, shape, 'int32'),
        });
        return o.lastHiddenState;
      });
      keepHead(await out.data());
      out.dispose();
    };
    return { ...(await run(step, c)), loadMs, info: { threads: info.threads, ...headOf() } };
  }
  const { ViTForImageClassification } = await import('@attn/vit');
  const model = await ViTForImageClassification.fromPretrained(c.dir);
  const loadMs = performance.now() - t0;
  const size = c.spec.config.image_size as number;
  const px = pixels(c.batch, size);
  step = async () => {
    const logits = tf.tidy(() => model.forward(tf.tensor4d(px, [c.batch, 3, size, size])).logits);
    keepHead(await logits.data());
    logits.dispose();
  };
  return { ...(await run(step, c)), loadMs, info: { threads: info.threads, ...headOf() } };
}

/** attn's own API on onnxruntime: the model's safetensors compiled to ONNX in memory, run by onnxruntime-node. */
async function inferOursOnnx(c: Extract<CaseSpec, { type: 'infer' }>): Promise<CaseResult> {
  const dtype = c.runtime === 'ours-onnx-q8' ? ('q8' as const) : undefined;
  const t0 = performance.now();
  const seq = c.spec.seq ?? 0;
  if (c.spec.kind === 'bert') {
    const { BertModel, BertOnnxRuntime } = await import('@attn/bert');
    const runtime = await BertOnnxRuntime.fromPretrained(c.dir, BertModel, { dtype }); // file → onnxruntime, no tfjs copy
    const loadMs = performance.now() - t0;
    const x = bertInputs(c.batch, seq);
    const shape: [number, number] = [c.batch, seq];
    const step = async () => {
      const inputs = {
        inputIds: tf.tensor2d(x.ids, shape, 'int32'),
        attentionMask: tf.tensor2d(x.mask, shape, 'int32'),
        tokenTypeIds: tf.tensor2d(x.types, shape, 'int32'),
      };
      const out = await runtime.forward(inputs);
      await out.lastHiddenState!.data();
      tf.dispose([...Object.values(inputs), ...Object.values(out)]);
    };
    return { ...(await run(step, c)), loadMs };
  }
  const { ViTOnnxRuntime } = await import('@attn/vit');
  const runtime = await ViTOnnxRuntime.fromPretrained(c.dir, { dtype });
  const loadMs = performance.now() - t0;
  const size = c.spec.config.image_size as number;
  const px = pixels(c.batch, size);
  const step = async () => {
    const input = tf.tensor4d(px, [c.batch, 3, size, size]);
    const { logits } = await runtime.forward(input);
    await logits.data();
    tf.dispose([input, logits]);
  };
  return { ...(await run(step, c)), loadMs };
}

async function run(step: () => Promise<void>, c: { budgetMs: number; maxIters: number }) {
  const { latenciesMs, cpuMs } = await measure(step, c.budgetMs, c.maxIters);
  return { latenciesMs, cpuMs, loadMs: 0, peakRssMB: peakRss(), info: {} as Record<string, unknown> };
}

async function inferOrt(c: Extract<CaseSpec, { type: 'infer' }>): Promise<CaseResult> {
  const ort = await import('onnxruntime-node');
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(join(c.dir, 'onnx', 'model.onnx'));
  const loadMs = performance.now() - t0;
  const feeds = ortFeeds(ort, c);
  const step = async () => {
    await session.run(feeds);
  };
  return {
    ...(await run(step, c)),
    loadMs,
    info: { threads: 'onnxruntime default (intra-op = physical cores)' },
  };
}

function ortFeeds(
  ort: typeof import('onnxruntime-node'),
  c: { spec: ModelSpec; batch: number },
): Record<string, import('onnxruntime-node').Tensor> {
  if (c.spec.kind === 'vit') {
    const size = c.spec.config.image_size as number;
    return { pixel_values: new ort.Tensor('float32', pixels(c.batch, size), [c.batch, 3, size, size]) };
  }
  const seq = c.spec.seq ?? 0;
  const x = bertInputs(c.batch, seq);
  const i64 = (a: Int32Array) => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), [c.batch, seq]);
  return { input_ids: i64(x.ids), attention_mask: i64(x.mask), token_type_ids: i64(x.types) };
}

async function inferTransformersJs(c: Extract<CaseSpec, { type: 'infer' }>): Promise<CaseResult> {
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = dirname(c.dir);
  const t0 = performance.now();
  const Auto = c.spec.kind === 'vit' ? tjs.AutoModelForImageClassification : tjs.AutoModel;
  const device = c.runtime === 'tjs-webgpu' ? 'webgpu' : 'cpu';
  const dtype = c.runtime === 'tjs-q8' ? 'q8' : 'fp32';
  if (dtype === 'q8') await quantizedOnnx(c.dir, c.spec.kind);
  const model = await Auto.from_pretrained(basename(c.dir), { dtype, device });
  const loadMs = performance.now() - t0;
  const ort = await import('onnxruntime-node');
  const feeds = Object.fromEntries(
    Object.entries(ortFeeds(ort, c)).map(([k, t]) => [
      k,
      new tjs.Tensor(t.type as 'int64', t.data as BigInt64Array, t.dims as number[]),
    ]),
  );
  const { keepHead, headOf } = outputHead(c.runtime);
  const step = async () => {
    const out = await model(feeds);
    keepHead((out.last_hidden_state ?? out.logits).data as Float32Array);
    for (const t of Object.values(out)) (t as { dispose?: () => void }).dispose?.();
  };
  return { ...(await run(step, c)), loadMs, info: { version: tjs.env.version, device, ...headOf() } };
}

/**
 * transformers.js' `dtype: 'q8'` file, `onnx/model_quantized.onnx`, exported by attn from the folder's weights
 * when missing: the same int8 graph attn's q8 runtime builds, so both run the same quantised weights.
 */
async function quantizedOnnx(dir: string, kind: ModelSpec['kind']): Promise<void> {
  const file = join(dir, 'onnx', 'model_quantized.onnx');
  if (existsSync(file)) return;
  await initBackend('wasm');
  if (kind === 'bert') {
    const { BertModel } = await import('@attn/bert');
    const model = await BertModel.fromPretrained(dir);
    exportBertOnnx(model, file, { dtype: 'q8' });
    model.dispose();
  } else {
    const { ViTForImageClassification } = await import('@attn/vit');
    const model = await ViTForImageClassification.fromPretrained(dir);
    exportViTOnnx(model, file, { dtype: 'q8' });
    model.dispose();
  }
}

/**
 * The first 4,096 values of the last output (last hidden state, logits), kept for the WebGPU runtimes only, so
 * that bench:gpu can show both libraries computed the same numbers on the same weights.
 */
function outputHead(runtime: Runtime) {
  let head: number[] | undefined;
  const keep = runtime === 'ours-webgpu' || runtime === 'tjs-webgpu';
  return {
    keepHead: (data: ArrayLike<number>) => {
      if (keep) head = Array.from({ length: Math.min(4096, data.length) }, (_, i) => data[i]!);
    },
    headOf: () => (head ? { head } : {}),
  };
}

/** One fine-tuning (BERT: sequence classification) or training (ViT: image classification) step with AdamW. */
async function trainStep(c: Extract<CaseSpec, { type: 'train' }>): Promise<CaseResult> {
  // initBackend also registers tfjs's gradients
  const backend =
    c.backend === 'webgpu'
      ? await initBackend('webgpu')
      : await initBackend('wasm', { threads: c.backend === 'wasm-mt' ? CORES : 1 });
  if (c.backend === 'native') return trainStepNative(c);
  const t0 = performance.now();
  let loss: () => tf.Scalar;
  const { BertForSequenceClassification } = await import('@attn/bert');
  const { ViTForImageClassification } = await import('@attn/vit');
  let model: Bert.BertForSequenceClassification | Vit.ViTForImageClassification;
  const labels = Int32Array.from({ length: c.batch }, (_, i) => i % 2);
  if (c.spec.kind === 'bert') {
    const bert = await BertForSequenceClassification.fromPretrained(c.dir); // the classifier starts random
    const seq = c.seq ?? c.spec.seq ?? 128;
    const x = bertInputs(c.batch, seq);
    const shape: [number, number] = [c.batch, seq];
    loss = () =>
      bert.forward({
        inputIds: tf.tensor2d(x.ids, shape, 'int32'),
        attentionMask: tf.tensor2d(x.mask, shape, 'int32'),
        labels: [...labels],
      }).loss as tf.Scalar;
    model = bert;
  } else {
    const vit = await ViTForImageClassification.fromPretrained(c.dir);
    const size = c.spec.config.image_size as number;
    const px = pixels(c.batch, size);
    loss = () =>
      crossEntropy(
        vit.forward(tf.tensor4d(px, [c.batch, 3, size, size])).logits,
        tf.tensor1d(labels, 'int32'),
      ) as tf.Scalar;
    model = vit;
  }
  const loadMs = performance.now() - t0;
  model.train();
  // core-tensor's AdamW, as the trainer builds it, so the bench measures the arithmetic training runs.
  const optimizer = new AdamW(model, { lr: 1e-5, weightDecay: 0.01, decay: noDecayForBiasAndNorm });
  const losses: number[] = [];
  const step = async () => {
    const { value, grads } = variableGradsFreeing(loss, optimizer.variables());
    optimizer.step(grads);
    tf.dispose(Object.values(grads));
    // Read after the update is queued: on a GPU the read waits for the whole step, not only the forward.
    losses.push((await value.data())[0]);
    value.dispose();
  };
  const res = await run(step, c);
  optimizer.dispose();
  return { ...res, loadMs, info: { ...res.info, losses, backend } };
}

/**
 * The same step with the loss and gradients on onnxruntime-node: the model's own ONNX forward differentiated
 * in ONNX (core-tensor's NativeTrainStep, one intra-op thread), then core-tensor's AdamW on the tfjs variables.
 * The model is in training mode, so the graph emits the dropout the tfjs and PyTorch rows run (BERT's 0.1; ViT's is 0).
 */
async function trainStepNative(c: Extract<CaseSpec, { type: 'train' }>): Promise<CaseResult> {
  const t0 = performance.now();
  const { BertForSequenceClassification } = await import('@attn/bert');
  const { ViTForImageClassification } = await import('@attn/vit');
  const labels = tf.tensor1d(
    Int32Array.from({ length: c.batch }, (_, i) => i % 2),
    'int32',
  );
  let model: Bert.BertForSequenceClassification | Vit.ViTForImageClassification;
  let step: NativeTrainStep;
  let batch: Record<string, tf.Tensor>;
  if (c.spec.kind === 'bert') {
    const bert = await BertForSequenceClassification.fromPretrained(c.dir);
    bert.train(); // the training graph then emits BERT's dropout, as the tfjs and PyTorch rows run it
    const seq = c.seq ?? c.spec.seq ?? 128;
    const x = bertInputs(c.batch, seq);
    const shape: [number, number] = [c.batch, seq];
    step = await NativeTrainStep.create(bert, {
      forward: (g) =>
        bert.toOnnx(g, {
          inputIds: g.input('input_ids', 'int64', shape),
          attentionMask: g.input('attention_mask', 'int64', shape),
          tokenTypeIds: g.input('token_type_ids', 'int64', shape),
        }).logits.value,
      threads: 1,
    });
    batch = {
      input_ids: tf.tensor2d(x.ids, shape, 'int32'),
      attention_mask: tf.tensor2d(x.mask, shape, 'int32'),
      token_type_ids: tf.zeros(shape, 'int32'),
    };
    model = bert;
  } else {
    const vit = await ViTForImageClassification.fromPretrained(c.dir);
    vit.train();
    const size = c.spec.config.image_size as number;
    const shape = [c.batch, 3, size, size];
    step = await NativeTrainStep.create(vit, {
      forward: (g) => vit.toOnnx(g, g.input('pixel_values', 'float32', shape)).logits.value,
      threads: 1,
    });
    batch = { pixel_values: tf.tensor(pixels(c.batch, size), shape) };
    model = vit;
  }
  const loadMs = performance.now() - t0;
  const optimizer = new AdamW(model, { lr: 1e-5, weightDecay: 0.01, decay: noDecayForBiasAndNorm });
  const losses: number[] = [];
  const res = await run(async () => {
    losses.push((await step.run(batch, labels, optimizer)).loss);
  }, c);
  optimizer.dispose();
  await step.dispose();
  tf.dispose([...Object.values(batch), labels]);
  return {
    ...res,
    loadMs,
    info: {
      ...res.info,
      losses,
      backend: 'onnxruntime-node (1 intra-op thread) + tfjs wasm AdamW',
      dropout: c.spec.kind === 'bert' ? 0.1 : 0,
    },
  };
}

/** A large float32 MatMul: the physical reference for "how fast can this CPU multiply". */
async function matmul(c: Extract<CaseSpec, { type: 'matmul' }>): Promise<CaseResult> {
  const r = new Random(3);
  const a = Float32Array.from({ length: c.n * c.n }, () => r.next() - 0.5);
  if (c.runtime !== 'ort') {
    await ourBackend(c.runtime);
    const A = tf.tensor2d(a, [c.n, c.n]);
    const step = async () => {
      const y = tf.matMul(A, A);
      await y.data();
      y.dispose();
    };
    return { ...(await run(step, c)), loadMs: 0, info: { n: c.n } };
  }
  const ort = await import('onnxruntime-node');
  const g = new OnnxGraph('matmul');
  const x = g.input('a', 'float32', [c.n, c.n]);
  g.output('y', g.node('MatMul', [x, x]), 'float32', [c.n, c.n]);
  const dir = join(process.env.ATTN_BENCH_CACHE ?? '.cache', 'matmul');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const path = join(dir, `matmul-${c.n}.onnx`);
  writeOnnxFile(path, g.encode());
  const session = await ort.InferenceSession.create(path);
  const feeds = { a: new ort.Tensor('float32', a, [c.n, c.n]) };
  const step = async () => {
    await session.run(feeds);
  };
  return { ...(await run(step, c)), loadMs: 0, info: { n: c.n } };
}

export function fixturesDir(): string {
  return (
    process.env.ATTN_FIXTURES ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures')
  );
}

/** Real text: IMDB reviews from the fixtures (first column of the CSV), cut to ~100 words. */
export function corpus(n: number): string[] {
  const csv = readFileSync(join(fixturesDir(), 'data/imdb-sample/imdb_test_sample.csv'), 'utf8');
  const docs = csv
    .split('\n')
    .slice(1)
    .map((l) =>
      l
        .replace(/^"|",?\d*\r?$/g, '')
        .split(' ')
        .slice(0, 100)
        .join(' '),
    )
    .filter((l) => l.length > 20);
  return Array.from({ length: n }, (_, i) => docs[i % docs.length]);
}

/** The first `n` IMDB reviews of the fixtures, whole (the CSV quotes a review and doubles its quotes). */
export function imdbReviews(n: number): string[] {
  const csv = readFileSync(join(fixturesDir(), 'data/imdb-sample/imdb_test_sample.csv'), 'utf8');
  const docs = csv
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => {
      const row = l.replace(/\r$/, '');
      return row.startsWith('"')
        ? row.slice(1, row.lastIndexOf('",')).replace(/""/g, '"')
        : row.slice(0, row.lastIndexOf(','));
    });
  if (n > docs.length) throw new Error(`embed: ${n} reviews asked, the fixture has ${docs.length}`);
  return docs.slice(0, n);
}

/**
 * The text-encoding job, once through (after a one-batch warm-up): attn's pipeline on its default device
 * (native in Node) through `stream`, or transformers.js' feature-extraction pipeline a batch at a time in file
 * order, as its users call it. attn's case also reports the padding ratio (token positions the batches hold /
 * real tokens), in file order and length-aware, linear and in the attention's quadratic part.
 */
async function embedCase(c: Extract<CaseSpec, { type: 'embed' }>): Promise<CaseResult> {
  const docs = imdbReviews(c.n);
  const t0 = performance.now();
  let vectors: Float32Array[] = [];
  let step: () => Promise<void>;
  let warm: () => Promise<void>;
  const info: Record<string, unknown> = {};
  if (c.runtime === 'tjs') {
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.localModelPath = dirname(c.dir);
    if (c.dtype === 'q8') await quantizedOnnx(c.dir, 'bert');
    const fe = await tjs.pipeline('feature-extraction', basename(c.dir), { dtype: c.dtype, device: 'cpu' });
    const embed = async (batch: string[]) => {
      const t = await fe(batch, { pooling: 'mean', normalize: false });
      const H = t.dims[1] as number;
      const data = t.data as Float32Array;
      const out = batch.map((_, i) => data.slice(i * H, (i + 1) * H));
      t.dispose();
      return out;
    };
    warm = async () => {
      await embed(docs.slice(0, c.batchSize));
    };
    step = async () => {
      vectors = [];
      for (let i = 0; i < docs.length; i += c.batchSize)
        vectors.push(...(await embed(docs.slice(i, i + c.batchSize))));
    };
    info.version = tjs.env.version;
  } else {
    const { pipeline, lengthSortedBatches, DEFAULT_SORT_WINDOW } = await import('@attn/bert');
    const fe = await pipeline('feature-extraction', c.dir, { maxLength: 512, dtype: c.dtype }); // device 'auto'
    info.device = fe.device.description;
    const sortWindow = c.runtime === 'attn' ? DEFAULT_SORT_WINDOW : 1;
    warm = async () => {
      for await (const _ of fe.stream(docs.slice(0, c.batchSize), {
        batchSize: c.batchSize,
        pooling: 'mean',
      }));
    };
    step = async () => {
      vectors = [];
      for await (const v of fe.stream(docs, { batchSize: c.batchSize, pooling: 'mean', sortWindow }))
        vectors.push(v);
    };
    // Padding, from the same token ids the stream batches: positions held ÷ real tokens.
    const lengths = docs.map((d) => fe.tokenIds(d).length);
    const held = (batches: number[][], power: number) =>
      batches.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i]!)) ** power, 0);
    const real = (power: number) => lengths.reduce((s, l) => s + l ** power, 0);
    const fileOrder: number[][] = [];
    const sorted: number[][] = [];
    const window = c.batchSize * DEFAULT_SORT_WINDOW;
    for (let i = 0; i < docs.length; i += c.batchSize)
      fileOrder.push(Array.from({ length: Math.min(c.batchSize, docs.length - i) }, (_, k) => i + k));
    for (let w = 0; w < docs.length; w += window)
      for (const b of lengthSortedBatches(lengths.slice(w, w + window), c.batchSize))
        sorted.push(b.map((i) => w + i));
    info.lengths = lengths; // the parent compares vectors where both libraries keep the same tokens
    info.realTokens = real(1);
    info.meanTokens = real(1) / docs.length;
    info.padding = {
      fileOrder: held(fileOrder, 1) / real(1),
      lengthAware: held(sorted, 1) / real(1),
      fileOrderQuadratic: held(fileOrder, 2) / real(2),
      lengthAwareQuadratic: held(sorted, 2) / real(2),
    };
    info.sortWindow = sortWindow;
  }
  const loadMs = performance.now() - t0;
  await warm();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await step();
  const latenciesMs = [performance.now() - w0];
  const cu = process.cpuUsage(c0);
  const flat = new Float32Array(vectors.reduce((s, v) => s + v.length, 0));
  let at = 0;
  for (const v of vectors) {
    flat.set(v, at);
    at += v.length;
  }
  writeFileSync(c.out, flat);
  return {
    latenciesMs,
    cpuMs: [(cu.user + cu.system) / 1000],
    loadMs,
    peakRssMB: peakRss(),
    info: { ...info, docs: docs.length, dim: vectors[0]?.length },
  };
}

async function exportVit(c: Extract<CaseSpec, { type: 'export-vit' }>): Promise<CaseResult> {
  await initBackend('wasm');
  const t0 = performance.now();
  mkdirSync(join(c.dir, 'onnx'), { recursive: true });
  // attn and transformers.js read the fixture's own files; only the ONNX graph is new.
  for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json']) {
    if (existsSync(join(c.dir, f))) continue;
    try {
      linkSync(join(c.from, f), join(c.dir, f));
    } catch {
      copyFileSync(join(c.from, f), join(c.dir, f));
    }
  }
  const { ViTForImageClassification } = await import('@attn/vit');
  const model = await ViTForImageClassification.fromPretrained(c.from);
  const { bytes } = exportViTOnnx(model, join(c.dir, 'onnx', 'model.onnx'));
  // transformers.js' `dtype: 'q8'` file: the same int8 weights attn's q8 pipeline builds from the safetensors.
  exportViTOnnx(model, join(c.dir, 'onnx', 'model_quantized.onnx'), { dtype: 'q8' });
  model.dispose();
  return {
    latenciesMs: [],
    cpuMs: [],
    loadMs: performance.now() - t0,
    peakRssMB: peakRss(),
    info: { bytes },
  };
}

/**
 * The image job, once through after a one-batch warm-up: files → decode → preprocess → model → top-1.
 * attn's pipeline on its default device (native in Node) through `stream`, or one call per batch; transformers.js'
 * image-classification pipeline a batch of paths at a time, as its users call it.
 */
async function imagesCase(c: Extract<CaseSpec, { type: 'images' }>): Promise<CaseResult> {
  const t0 = performance.now();
  const info: Record<string, unknown> = { dtype: c.dtype };
  const batchesOf = (files: string[]) =>
    Array.from({ length: Math.ceil(files.length / c.batchSize) }, (_, i) =>
      files.slice(i * c.batchSize, (i + 1) * c.batchSize),
    );
  /** The top-1 label of each file, in order. */
  let classify: (files: string[]) => Promise<string[]>;
  if (c.runtime === 'tjs') {
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.localModelPath = dirname(c.dir);
    const clf = await tjs.pipeline('image-classification', basename(c.dir), {
      dtype: c.dtype,
      device: 'cpu',
    });
    classify = async (files) => {
      const top: string[] = [];
      for (const b of batchesOf(files)) {
        const out = (await clf(b, { top_k: 1 })) as { label: string }[][];
        top.push(...out.map((r) => r[0]!.label));
      }
      return top;
    };
    info.version = tjs.env.version;
  } else {
    const { pipeline } = await import('@attn/vit');
    const clf = await pipeline('image-classification', c.dir, { top_k: 1, dtype: c.dtype }); // device 'auto'
    info.device = clf.device.description;
    classify = async (files) => {
      const top: string[] = [];
      if (c.runtime === 'attn')
        for await (const r of clf.stream(files, { batchSize: c.batchSize })) top.push(r[0]!.label);
      else for (const b of batchesOf(files)) top.push(...(await clf(b)).map((r) => r[0]!.label));
      return top;
    };
  }
  const loadMs = performance.now() - t0;
  // Whole passes (the first one warms up, in measure) over the files, several of them: one pass is a few seconds, and the neighbours' load varies.
  let top1: string[] = [];
  const { latenciesMs, cpuMs } = await measure(
    async () => {
      top1 = await classify(c.files);
    },
    c.budgetMs,
    c.maxIters,
  );
  if (c.runtime === 'attn') {
    // What overlapping can hide: decoding + preprocessing every file alone, one batch at a time.
    const { ViTImageProcessor } = await import('@attn/vit');
    const proc = await ViTImageProcessor.fromPretrained(c.dir);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let i = 0; i < c.files.length; i += c.batchSize)
      await proc.preprocessToArray(c.files.slice(i, i + c.batchSize));
    const cu = process.cpuUsage(c0);
    info.preprocessSeconds = (performance.now() - w0) / 1000;
    info.preprocessCpuSeconds = (cu.user + cu.system) / 1e6;
  }
  return { latenciesMs, cpuMs, loadMs, peakRssMB: peakRss(), info: { ...info, top1 } };
}

/** Sentence embeddings of `texts` documents: single-thread pipeline (workers = 0) or a pool of N workers. */
async function poolCase(c: Extract<CaseSpec, { type: 'pool' }>): Promise<CaseResult> {
  const texts = corpus(c.texts);
  const t0 = performance.now();
  if (c.workers === 0) {
    await initBackend('wasm');
    const { pipeline } = await import('@attn/bert');
    // the tfjs baseline the pool is compared with: wasm, not the 'auto' default (native where installed)
    const fe = await pipeline('feature-extraction', c.dir, { maxLength: 128, device: 'wasm' });
    const loadMs = performance.now() - t0;
    const step = async () => {
      for (let i = 0; i < texts.length; i += c.batchSize)
        await fe.call(texts.slice(i, i + c.batchSize), { pooling: 'mean' });
    };
    return { ...(await run(step, c)), loadMs };
  }
  const pool = await createFeatureExtractionPool(c.dir, {
    workers: c.workers,
    batchSize: c.batchSize,
    maxLength: 128,
  });
  const loadMs = performance.now() - t0;
  const res = await run(async () => {
    await pool.embed(texts);
  }, c);
  await pool.close();
  return { ...res, loadMs };
}

function peakRss(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function main() {
  const c = JSON.parse(process.argv[2]) as CaseSpec;
  let res: CaseResult;
  if (c.type === 'prepare') res = await prepare(c);
  else if (c.type === 'train') res = await trainStep(c);
  else if (c.type === 'matmul') res = await matmul(c);
  else if (c.type === 'pool') res = await poolCase(c);
  else if (c.type === 'embed') res = await embedCase(c);
  else if (c.type === 'export-vit') res = await exportVit(c);
  else if (c.type === 'images') res = await imagesCase(c);
  else if (c.runtime === 'ort') res = await inferOrt(c);
  else if (c.runtime === 'tjs' || c.runtime === 'tjs-q8' || c.runtime === 'tjs-webgpu')
    res = await inferTransformersJs(c);
  else res = await inferOurs(c);
  process.stdout.write(`RESULT ${JSON.stringify(res)}\n`);
  process.exit(0);
}

if (process.argv[1] && /case\.[jt]s$/.test(process.argv[1])) void main();
