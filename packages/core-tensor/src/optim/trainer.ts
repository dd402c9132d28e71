import * as tf from '@tensorflow/tfjs-core';
import { atomicWriteFile, removeStaleTemps, syncDir, tempName } from '../io/atomic-write.js';
import type { Module } from '../module.js';
import { node } from '../platform/node.js';
import { loadSafetensors } from '../safetensors/read.js';
import { writeSafetensors } from '../safetensors/write.js';
import { GradientAccumulator } from './accumulate.js';
import { AdamW, noDecayForBiasAndNorm } from './adamw.js';
import { linearWarmupDecay, type Schedule } from './schedule.js';
import { trainStep } from './train-step.js';

/** What the trainer reports after each optimizer step. */
export interface TrainProgress {
  /** The epoch this step belongs to, counted from 1. */
  epoch: number;
  /** Optimizer steps done so far, over all epochs. */
  step: number;
  totalSteps: number;
  /** Mean loss of the batches in this optimizer step. */
  loss: number;
  /** The learning rate this step used. */
  lr: number;
  /** @deprecated the same as `lr` (the name @attn/bert's trainer used). */
  learningRate: number;
  /** Global gradient norm before clipping; NaN when clipping is off. */
  gradNorm: number;
}

export interface EpochReport {
  /** Counted from 1. */
  epoch: number;
  /** Mean training loss over the epoch (weighted by the batches' `size` where the loss gives one). */
  trainLoss: number;
  /** The epoch's `totals` divided by its examples, then what `evaluate` returned (e.g. accuracy). */
  metrics: Record<string, number>;
  seconds: number;
}

/** A batch's loss, with what the epoch report should add up besides it. */
export interface BatchLoss {
  loss: tf.Scalar;
  /** Examples in the batch: weights its loss in the epoch's mean (default: every batch counts once). */
  size?: number;
  /** Per-batch sums (e.g. correct predictions), added over the epoch and divided by its examples into `metrics`. */
  totals?: Record<string, tf.Scalar>;
}

/** The model a trainer trains: a Module, saved by its own `save` (an HF folder) when it has one. */
export type TrainableModule = Module & { save?: (dir: string) => Promise<unknown> };

export interface TrainOptions<B> {
  model: TrainableModule;
  /** The loss of one batch (called under `tf.variableGrads`; every tensor it makes is disposed). */
  loss: (batch: B) => tf.Scalar | BatchLoss;
  /**
   * The batches of an epoch (counted from 1), read lazily. Must be the same for the same epoch, so an
   * interrupted run can resume.
   */
  batches: (epoch: number) => Iterable<B>;
  /** How many batches `batches(epoch)` yields (for the schedule and progress). */
  batchesPerEpoch: number;
  epochs: number;
  /** Stop after this many epochs (a time-boxed session); the schedule still spans `epochs`, and a later call resumes. */
  stopAfterEpochs?: number;
  /** Peak learning rate. */
  learningRate: number;
  /** The learning rate of each step. Default: linearWarmupDecay with `warmupRatio` (HF Trainer's default). */
  schedule?: Schedule;
  /** AdamW decoupled weight decay; not applied to biases and LayerNorm (as HF Trainer). Default 0.01. */
  weightDecay?: number;
  /** Fraction of all steps used for linear warm-up of the default schedule (default 0.1). */
  warmupRatio?: number;
  /** Clip the global gradient norm to this (default 1.0; 0 turns clipping off). */
  maxGradNorm?: number;
  /** Average gradients over this many batches before each optimizer step (default 1). */
  gradientAccumulationSteps?: number;
  /** Run after each epoch in eval mode; its numbers go into the report and history. */
  evaluate?: (epoch: number) => Record<string, number> | Promise<Record<string, number>>;
  /**
   * Where to write `checkpoint-<epochs done>/` (model + optimizer + trainer state) after each epoch, each
   * folder whole or not at all; the previous one is deleted only once the new one is in place.
   */
  checkpointDir?: string;
  /** Continue from the newest checkpoint in `checkpointDir` (see latestCheckpoint; default true). */
  resume?: boolean;
  /**
   * State of the caller's own that a resumed run needs (e.g. a random stream shared across epochs): `save()`
   * is stored in each checkpoint's trainer_state.json as JSON, `load()` gets it back on resume.
   */
  extraState?: { save: () => unknown; load: (saved: unknown) => void };
  /** Checked before every batch: training stops with its reason. */
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  onEpochEnd?: (r: EpochReport) => void | Promise<void>;
}

interface TrainerState {
  epochsDone: number;
  step: number;
  history: EpochReport[];
  extra?: unknown;
}

/**
 * The one training loop (BERT fine-tuning and pre-training, ViT, the CLI): AdamW, a learning-rate schedule,
 * gradient clipping and accumulation; evaluates and checkpoints after every epoch, and resumes from the last
 * checkpoint. It knows nothing of the model beyond its parameters: the caller brings the loss and batches.
 * Returns the per-epoch history. Leaves the model in eval mode.
 */
export async function train<B>(opts: TrainOptions<B>): Promise<EpochReport[]> {
  const { model } = opts;
  const accumulation = opts.gradientAccumulationSteps ?? 1;
  if (!Number.isInteger(accumulation) || accumulation < 1)
    throw new RangeError(`gradientAccumulationSteps must be an integer ≥ 1, got ${accumulation}`);
  const stepsPerEpoch = Math.ceil(opts.batchesPerEpoch / accumulation);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const warmupSteps = Math.round((opts.warmupRatio ?? 0.1) * totalSteps);
  const schedule =
    opts.schedule ??
    ((step: number) => linearWarmupDecay(step, { warmupSteps, totalSteps, peakLr: opts.learningRate }));
  const maxNorm = opts.maxGradNorm ?? 1.0;
  const named = model.namedParameters().filter(([, p]) => p.trainable);
  const optimizer = new AdamW(named, {
    lr: opts.learningRate,
    weightDecay: opts.weightDecay ?? 0.01,
    decay: noDecayForBiasAndNorm,
  });
  // Without accumulation trainStep steps on the gradients themselves, with no copy.
  const accumulator = accumulation > 1 ? new GradientAccumulator(accumulation) : undefined;

  let state: TrainerState = { epochsDone: 0, step: 0, history: [] };
  const ckpt = opts.checkpointDir;
  const from = ckpt && (opts.resume ?? true) ? await latestCheckpoint(ckpt) : undefined;

  try {
    if (from) {
      state = await restore(from.path, model, optimizer);
      opts.extraState?.load(state.extra);
    }
    const lastEpoch = Math.min(opts.epochs, opts.stopAfterEpochs ?? opts.epochs);
    for (let epoch = state.epochsDone + 1; epoch <= lastEpoch; epoch++) {
      const started = Date.now();
      model.train();
      let lossSum = 0;
      let examples = 0;
      const totals: Record<string, number> = {};
      let stepLoss = 0;
      let inStep = 0;
      const iterator = opts.batches(epoch)[Symbol.iterator]();
      // One batch of look-ahead: the epoch's last micro-batches make a step even when fewer than `accumulation`.
      let next = iterator.next();
      while (!next.done) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('training aborted');
        const batch = next.value;
        next = iterator.next();
        let size = 1;
        let sums: Record<string, tf.Scalar> = {};
        const lossFn = () => {
          const out = opts.loss(batch);
          if (out instanceof tf.Tensor) return out;
          size = out.size ?? 1;
          // trainStep disposes all but the loss; the totals are read below.
          for (const t of Object.values(out.totals ?? {})) tf.keep(t);
          sums = out.totals ?? {};
          return out.loss;
        };
        const lr = schedule(state.step, totalSteps);
        optimizer.lr = lr;
        let result: Awaited<ReturnType<typeof trainStep>>;
        try {
          result = await trainStep(model, lossFn, optimizer, {
            ...(maxNorm > 0 ? { clipNorm: maxNorm } : {}),
            ...(accumulator ? { accumulator, flush: next.done } : {}),
          });
          const read = await Promise.all(Object.values(sums).map((t) => t.data()));
          Object.keys(sums).forEach((k, i) => {
            totals[k] = (totals[k] ?? 0) + read[i]![0]!;
          });
        } finally {
          tf.dispose(Object.values(sums));
        }
        lossSum += result.loss * size;
        examples += size;
        stepLoss += result.loss;
        inStep++;
        if (!result.stepped) continue;
        state.step++;
        opts.onProgress?.({
          epoch,
          step: state.step,
          totalSteps,
          loss: stepLoss / inStep,
          lr,
          learningRate: lr,
          gradNorm: result.gradNorm ?? Number.NaN,
        });
        stepLoss = 0;
        inStep = 0;
      }
      model.eval();
      const trained = Object.fromEntries(
        Object.entries(totals).map(([k, v]) => [k, v / Math.max(1, examples)]),
      );
      const metrics = { ...trained, ...(opts.evaluate ? await opts.evaluate(epoch) : {}) };
      const report = {
        epoch,
        trainLoss: lossSum / Math.max(1, examples),
        metrics,
        seconds: (Date.now() - started) / 1000,
      };
      state.history.push(report);
      state.epochsDone = epoch;
      if (opts.extraState) state.extra = opts.extraState.save();
      if (ckpt) await checkpoint(ckpt, model, optimizer, state);
      await opts.onEpochEnd?.(report);
    }
  } finally {
    accumulator?.dispose();
    optimizer.dispose();
    model.eval();
  }
  return state.history;
}

const NUMBERED = /^checkpoint-(\d+)$/;
/** Folders of the earlier single-checkpoint layout, still read so that such a run resumes. */
const LEGACY = ['checkpoint', 'checkpoint.old'];

/**
 * The newest complete checkpoint in `dir`, by the `epochsDone` of its trainer_state.json: the
 * `checkpoint-<n>` folders, and `checkpoint` / `checkpoint.old` of the earlier layout. A folder counts
 * when its trainer state parses and its weight files are there; undefined when there is none.
 */
export async function latestCheckpoint(
  dir: string,
): Promise<{ path: string; epochsDone: number } | undefined> {
  const { readdir } = node.fsp;
  const { join } = node.path;
  let best: { path: string; epochsDone: number } | undefined;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!NUMBERED.test(name) && !LEGACY.includes(name)) continue;
    const path = join(dir, name);
    const epochsDone = await completeEpochs(path);
    if (epochsDone !== undefined && (!best || epochsDone > best.epochsDone)) best = { path, epochsDone };
  }
  return best;
}

async function completeEpochs(path: string): Promise<number | undefined> {
  const { readFile, stat } = node.fsp;
  const { join } = node.path;
  try {
    const saved = JSON.parse(await readFile(join(path, 'trainer_state.json'), 'utf8')) as TrainerState;
    for (const f of ['model.safetensors', 'optimizer.safetensors'])
      if (!(await stat(join(path, f))).isFile()) return undefined;
    return Number.isSafeInteger(saved.epochsDone) ? saved.epochsDone : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes `checkpoint-<epochsDone>` into a temporary folder that is renamed into place once whole, so a
 * kill at any point leaves the previous checkpoint or the new one, complete; only then are the others
 * deleted.
 */
async function checkpoint(root: string, model: TrainableModule, optimizer: AdamW, state: TrainerState) {
  const { mkdir, readdir, rename, rm } = node.fsp;
  const { join } = node.path;
  await mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const name = `checkpoint-${state.epochsDone}`;
  const tmp = join(root, tempName(name, 'tmp'));
  await mkdir(tmp);
  try {
    if (model.save) await model.save(tmp);
    else await writeAll(join(tmp, 'model.safetensors'), model.stateDict());
    await writeAll(join(tmp, 'optimizer.safetensors'), optimizer.stateDict());
    await atomicWriteFile(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2));
    // Only a run started over with resume: false can find its own epoch's name taken.
    await rm(join(root, name), { recursive: true, force: true });
    await rename(tmp, join(root, name));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await syncDir(root);
  for (const other of await readdir(root))
    if (other !== name && (NUMBERED.test(other) || LEGACY.includes(other) || other === 'checkpoint.tmp'))
      await rm(join(root, other), { recursive: true, force: true });
}

async function writeAll(path: string, tensors: Map<string, tf.Tensor>) {
  try {
    await writeSafetensors(path, tensors);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

async function restore(dir: string, model: TrainableModule, optimizer: AdamW): Promise<TrainerState> {
  const { readFile } = node.fsp;
  const { join } = node.path;
  const saved = JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  for (const [file, load] of [
    ['model.safetensors', async (m: Map<string, tf.Tensor>) => model.loadStateDict(m, { strict: true })],
    ['optimizer.safetensors', (m: Map<string, tf.Tensor>) => optimizer.loadStateDict(m)],
  ] as const) {
    const tensors = await loadSafetensors(join(dir, file));
    try {
      await load(tensors);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
  // Checkpoints written before epochs counted from 1 numbered their history from 0.
  const history = saved.history.map((h, i) => (saved.history[0]?.epoch === 0 ? { ...h, epoch: i + 1 } : h));
  return { epochsDone: saved.epochsDone, step: saved.step, history, extra: saved.extra };
}
