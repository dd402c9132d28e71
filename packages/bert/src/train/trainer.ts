import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AdamW,
  atomicWriteFile,
  clipByGlobalNorm,
  linearWarmupDecay,
  loadSafetensors,
  noDecayForBiasAndNorm,
  removeStaleTemps,
  syncDir,
  tempName,
  tf,
  writeSafetensors,
} from '@attn/core-tensor';
import type { BertPreTrainedModel } from '../pretrained.js';

export interface TrainProgress {
  epoch: number;
  /** Optimizer steps done so far, over all epochs. */
  step: number;
  totalSteps: number;
  /** Mean loss of the batches in this optimizer step. */
  loss: number;
  learningRate: number;
  gradNorm: number;
}

export interface EpochReport {
  epoch: number;
  /** Mean training loss over the epoch. */
  trainLoss: number;
  /** What `evaluate` returned (e.g. accuracy), if given. */
  metrics: Record<string, number>;
  seconds: number;
}

export interface TrainOptions<B> {
  model: BertPreTrainedModel;
  /** The loss of one batch, a scalar (called under `tf.variableGrads`). */
  loss: (batch: B) => tf.Scalar;
  /** The batches of an epoch. Must be the same for the same epoch, so an interrupted run can resume. */
  batches: (epoch: number) => Iterable<B>;
  /** How many batches `batches(epoch)` yields (for the schedule and progress). */
  batchesPerEpoch: number;
  epochs: number;
  /** Stop after this many epochs (a time-boxed session); the schedule still spans `epochs`, and a later call resumes. */
  stopAfterEpochs?: number;
  learningRate: number;
  /** AdamW decoupled weight decay; not applied to biases and LayerNorm (as HF Trainer). Default 0.01. */
  weightDecay?: number;
  /** Fraction of all steps used for linear warm-up (default 0.1). */
  warmupRatio?: number;
  /** Clip the global gradient norm to this (default 1.0; 0 turns clipping off). */
  maxGradNorm?: number;
  /** Sum gradients over this many batches before each optimizer step (default 1). */
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
  onProgress?: (p: TrainProgress) => void;
  onEpochEnd?: (r: EpochReport) => void;
}

interface TrainerState {
  epochsDone: number;
  step: number;
  history: EpochReport[];
}

/**
 * Trains with AdamW, linear warm-up then decay, gradient clipping and accumulation; evaluates and
 * checkpoints after every epoch, and resumes from the last checkpoint. Returns the per-epoch history.
 * Leaves the model in eval mode.
 */
export async function train<B>(opts: TrainOptions<B>): Promise<EpochReport[]> {
  const { model } = opts;
  const accumulation = opts.gradientAccumulationSteps ?? 1;
  const stepsPerEpoch = Math.ceil(opts.batchesPerEpoch / accumulation);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const warmup = Math.round((opts.warmupRatio ?? 0.1) * totalSteps);
  const maxNorm = opts.maxGradNorm ?? 1.0;
  const named = model.namedParameters().filter(([, p]) => p.trainable);
  const optimizer = new AdamW(named, {
    lr: opts.learningRate,
    weightDecay: opts.weightDecay ?? 0.01,
    decay: noDecayForBiasAndNorm,
  });
  const variables = named.map(([, p]) => p.value);
  const nameOf = new Map(named.map(([n, p]) => [p.value.name, n]));

  let state: TrainerState = { epochsDone: 0, step: 0, history: [] };
  const ckpt = opts.checkpointDir;
  const from = ckpt && (opts.resume ?? true) ? await latestCheckpoint(ckpt) : undefined;

  try {
    if (from) state = await restore(from.path, model, optimizer);
    const lastEpoch = Math.min(opts.epochs, opts.stopAfterEpochs ?? opts.epochs);
    for (let epoch = state.epochsDone; epoch < lastEpoch; epoch++) {
      const started = Date.now();
      model.train();
      let lossSum = 0;
      let lossCount = 0;
      let pending: Map<string, tf.Tensor> | undefined;
      let pendingLoss = 0;
      let inStep = 0;
      const flush = () => {
        if (!pending) return;
        let gradNorm = Number.NaN;
        let grads = pending;
        if (maxNorm > 0) {
          const clipped = clipByGlobalNorm(pending, maxNorm);
          gradNorm = clipped.norm.dataSync()[0]!;
          clipped.norm.dispose();
          grads = clipped.grads;
        }
        const lr = linearWarmupDecay(state.step, {
          warmupSteps: warmup,
          totalSteps,
          peakLr: opts.learningRate,
        });
        optimizer.lr = lr;
        optimizer.step(grads);
        tf.dispose([...pending.values(), ...(grads === pending ? [] : grads.values())]);
        state.step++;
        opts.onProgress?.({
          epoch,
          step: state.step,
          totalSteps,
          loss: pendingLoss / inStep,
          learningRate: lr,
          gradNorm,
        });
        pending = undefined;
        pendingLoss = 0;
        inStep = 0;
      };
      for (const batch of opts.batches(epoch)) {
        const { value, grads } = tf.variableGrads(() => opts.loss(batch), variables);
        const loss = value.dataSync()[0]!;
        value.dispose();
        lossSum += loss;
        lossCount++;
        pendingLoss += loss;
        inStep++;
        const scaled = new Map<string, tf.Tensor>();
        for (const [varName, g] of Object.entries(grads)) {
          const name = nameOf.get(varName)!;
          const prev = pending?.get(name);
          scaled.set(
            name,
            tf.tidy(() => (prev ? tf.add(prev, tf.div(g, accumulation)) : tf.div(g, accumulation))),
          );
          g.dispose();
          prev?.dispose();
        }
        pending = scaled;
        if (inStep === accumulation) flush();
      }
      flush();
      model.eval();
      const metrics = opts.evaluate ? await opts.evaluate(epoch) : {};
      const report = {
        epoch,
        trainLoss: lossSum / Math.max(1, lossCount),
        metrics,
        seconds: (Date.now() - started) / 1000,
      };
      state.history.push(report);
      state.epochsDone = epoch + 1;
      if (ckpt) await checkpoint(ckpt, model, optimizer, state);
      opts.onEpochEnd?.(report);
    }
  } finally {
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
async function checkpoint(root: string, model: BertPreTrainedModel, optimizer: AdamW, state: TrainerState) {
  await mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const name = `checkpoint-${state.epochsDone}`;
  const tmp = join(root, tempName(name, 'tmp'));
  await mkdir(tmp);
  try {
    await model.save(tmp);
    const moments = optimizer.stateDict();
    try {
      await writeSafetensors(join(tmp, 'optimizer.safetensors'), moments);
    } finally {
      for (const t of moments.values()) t.dispose();
    }
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

async function restore(dir: string, model: BertPreTrainedModel, optimizer: AdamW): Promise<TrainerState> {
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
  return { epochsDone: saved.epochsDone, step: saved.step, history: saved.history };
}
