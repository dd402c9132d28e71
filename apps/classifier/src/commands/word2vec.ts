/**
 * `attn train word2vec` and `attn similar`: learn word vectors with @attn/attention's Word2Vec from a text
 * file (one sentence per line), and ask a trained model for a word's nearest neighbours.
 *
 * The model folder holds vectors.txt (word2vec text format, which gensim's KeyedVectors reads),
 * word2vec.json (the options, the loss history and the speed), loss.png and pca.png.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Word2Vec, type Word2VecEngine, type Word2VecMode } from '@attn/attention';
import { atomicWriteFile, tf } from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import { type Command, Option } from 'commander';
import { type Context, InputFileError, UsageError, writeLine } from '../io.js';
import { progressBar } from '../progress.js';
import { lossCurveSvg, pca2, pcaScatterSvg, writeSvgAsPng } from '../render/word2vec-plots.js';

type Runner = <A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<number>,
) => (...args: A) => Promise<void>;

export type TokenMode = 'basic' | 'whitespace' | 'chars';

export interface TrainWord2VecOptions {
  data: string;
  out: string;
  mode: Word2VecMode;
  tokens: TokenMode;
  field?: number;
  dim: number;
  window: number;
  negative: number;
  minCount: number;
  epochs: number;
  sample: number;
  alpha?: number;
  seed: number;
  plotWords: number;
  engine?: Word2VecEngine;
  batchSize?: number;
}

/**
 * Splits one line into tokens. `basic` is BERT's BasicTokenizer (@attn/text-tokenizer): lower-cased words,
 * punctuation split off, and every Chinese character a word of its own, so it serves English and Chinese.
 */
export function sentenceTokenizer(mode: TokenMode): (line: string) => string[] {
  if (mode === 'whitespace') return (line) => line.split(/\s+/).filter(Boolean);
  if (mode === 'chars') return (line) => [...line.replace(/\s+/g, '')];
  const basic = BertTokenizer.fromVocab(['[UNK]'], { doLowerCase: true });
  return (line) => basic.basicTokenize(line);
}

/** Lines of `file` (optionally one tab-separated field of each, 1-based), tokenized; empty lines dropped. */
export function readSentences(file: string, tokens: TokenMode, field?: number): string[][] {
  if (!existsSync(file)) throw new InputFileError(file, 'no such file');
  const split = sentenceTokenizer(tokens);
  const out: string[][] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let text = line;
      if (field !== undefined) {
        const parts = line.split('\t');
        if (parts.length < field)
          throw new UsageError(
            `${file}:${i + 1}: --field ${field} but the line has ${parts.length} field(s)`,
          );
        text = parts[field - 1]!;
      }
      const s = split(text);
      if (s.length) out.push(s);
    });
  if (out.length === 0) throw new UsageError(`${file}: no sentences (the file has no non-empty lines)`);
  return out;
}

async function say(ctx: Context, obj: Record<string, unknown>, text: string): Promise<void> {
  await writeLine(ctx.io.stdout, ctx.json ? JSON.stringify(obj) : text);
}

export async function trainWord2VecCommand(o: TrainWord2VecOptions, ctx: Context): Promise<number> {
  await ctx.backend();
  const sentences = readSentences(o.data, o.tokens, o.field);
  const model = new Word2Vec({
    mode: o.mode,
    dim: o.dim,
    window: o.window,
    negative: o.negative,
    minCount: o.minCount,
    epochs: o.epochs,
    sample: o.sample,
    seed: o.seed,
    ...(o.alpha === undefined ? {} : { alpha: o.alpha }),
    ...(o.engine === undefined ? {} : { engine: o.engine }),
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
  });
  try {
    let bar: ReturnType<typeof progressBar> | undefined;
    await model.train(sentences, {
      onProgress: (p) => {
        bar ??= progressBar(
          ctx,
          ' {bar} {percentage}% | epoch {epoch}/{epochs} | loss {loss}',
          p.totalWords,
          {
            epoch: 1,
            epochs: p.epochs,
            loss: '-',
          },
        );
        bar.update(p.words, { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(3) });
      },
      onEpochEnd: (epoch, loss) => {
        if (!ctx.io.stderr.isTTY)
          ctx.io.stderr.write(`epoch ${epoch}/${o.epochs}: mean loss ${loss.toFixed(4)}\n`);
      },
    });
    bar?.stop();
    await mkdir(o.out, { recursive: true });
    await model.save(join(o.out, 'vectors.txt'));
    const summary = {
      mode: o.mode,
      dim: o.dim,
      window: o.window,
      negative: o.negative,
      minCount: o.minCount,
      epochs: o.epochs,
      sample: o.sample,
      seed: o.seed,
      tokens: o.tokens,
      vocabSize: model.vocabSize,
      sentences: sentences.length,
      wordsPerSecond: Math.round(model.wordsPerSecond),
      engine: model.engineUsed,
      epochLoss: model.epochLoss,
      lossHistory: model.lossHistory,
    };
    await atomicWriteFile(join(o.out, 'word2vec.json'), `${JSON.stringify(summary, null, 2)}\n`);
    await writeSvgAsPng(
      lossCurveSvg(model.lossHistory, `Word2Vec ${o.mode}: training loss`),
      join(o.out, 'loss.png'),
    );
    // The picture shows the most frequent words made of letters (punctuation would crowd the middle).
    const shown = model.words.filter((w) => /\p{L}/u.test(w)).slice(0, o.plotWords);
    if (shown.length >= 3) {
      const rows = tf.tensor2d(
        shown.flatMap((w) => Array.from(model.vector(w))),
        [shown.length, o.dim],
      );
      const xy = pca2(rows);
      rows.dispose();
      await writeSvgAsPng(
        pcaScatterSvg(
          shown,
          xy,
          `Word2Vec ${o.mode}: ${shown.length} most frequent words, first two principal components`,
        ),
        join(o.out, 'pca.png'),
      );
    }
    const last = model.epochLoss[model.epochLoss.length - 1]!;
    await say(
      ctx,
      { out: o.out, vocabSize: model.vocabSize, loss: last, wordsPerSecond: summary.wordsPerSecond },
      `wrote ${o.out}: ${model.vocabSize} words × ${o.dim}, final mean loss ${last.toFixed(4)}, ${summary.wordsPerSecond.toLocaleString('en')} words/s`,
    );
    return 0;
  } finally {
    model.dispose();
  }
}

export interface SimilarOptions {
  model: string;
  top: number;
}

export async function similarCommand(words: string[], o: SimilarOptions, ctx: Context): Promise<number> {
  await ctx.backend();
  const file = existsSync(join(o.model, 'vectors.txt')) ? join(o.model, 'vectors.txt') : o.model;
  if (!existsSync(file)) throw new InputFileError(o.model, 'no such folder or vectors file');
  if (words.length !== 1 && words.length !== 3)
    throw new UsageError('similar: give one word, or three (a b c: a is to b as c is to ?)');
  const model = await Word2Vec.load(file);
  try {
    const missing = words.filter((w) => !model.has(w));
    if (missing.length) throw new UsageError(`similar: "${missing[0]}" is not in the vocabulary of ${file}`);
    const found =
      words.length === 1
        ? await model.mostSimilar(words[0]!, o.top)
        : await model.analogy(words[0]!, words[1]!, words[2]!, o.top);
    if (ctx.json) await writeLine(ctx.io.stdout, JSON.stringify({ query: words, neighbours: found }));
    else for (const n of found) await writeLine(ctx.io.stdout, `${n.word}\t${n.score.toFixed(4)}`);
    return 0;
  } finally {
    model.dispose();
  }
}

const num = (v: string) => Number(v);

/** Adds `train word2vec` under the existing `train` command, and `similar`. */
export function registerWord2VecCommands(program: Command, run: Runner): void {
  const train = program.commands.find((c) => c.name() === 'train');
  if (!train) throw new Error('registerWord2VecCommands: register the train commands first');
  train
    .command('word2vec')
    .description(
      'learn word vectors (CBOW or skip-gram, negative sampling) from a text file, one sentence a line',
    )
    .requiredOption('--data <file>', 'text, one sentence per line')
    .requiredOption(
      '--out <dir>',
      'folder to write: vectors.txt (word2vec format), word2vec.json, loss.png, pca.png',
    )
    .addOption(new Option('--mode <mode>', 'objective').choices(['cbow', 'skipgram']).default('cbow'))
    .addOption(
      new Option(
        '--tokens <how>',
        'basic: BERT BasicTokenizer (Chinese: one character a word); whitespace; chars',
      )
        .choices(['basic', 'whitespace', 'chars'])
        .default('basic'),
    )
    .option('--field <n>', 'use only this tab-separated field of each line (1-based)', num)
    .option('--dim <n>', 'vector size', num, 100)
    .option('--window <n>', 'context words each side (at most)', num, 5)
    .option('--negative <n>', 'noise words per prediction', num, 5)
    .option('--min-count <n>', 'drop rarer words', num, 5)
    .option('--epochs <n>', 'passes over the data', num, 5)
    .option('--sample <t>', 'frequent-word subsampling threshold (0: off)', num, 1e-3)
    .option('--alpha <x>', 'starting learning rate (default 0.025)', num)
    .option('--seed <n>', 'seed', num, 1)
    .option('--plot-words <n>', 'words in pca.png', num, 60)
    .addOption(
      new Option(
        '--engine <engine>',
        'where the steps run: auto (the fastest here), wasm-simd, js, or tfjs (batched tensor ops on the --device)',
      )
        .choices(['auto', 'wasm-simd', 'js', 'tfjs'])
        .default('auto'),
    )
    .option('--batch-size <n>', 'examples per batch of tensor ops, for --engine tfjs (default 1024)', num)
    .action(run((ctx, o: TrainWord2VecOptions) => trainWord2VecCommand(o, ctx)));
  program
    .command('similar')
    .description('nearest neighbours of a word in a Word2Vec model (or, given a b c, the analogy b − a + c)')
    .argument('<words...>', 'one word, or three for an analogy')
    .requiredOption('--model <dir>', 'a folder from attn train word2vec, or a word2vec text file')
    .option('--top <k>', 'neighbours to show', num, 10)
    .action(run((ctx, words: string[], o: SimilarOptions) => similarCommand(words, o, ctx)));
}
