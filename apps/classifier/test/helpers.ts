/** Test helpers: run the CLI in-process with captured streams, and read the Hugging Face goldens. */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BertForSequenceClassification, bertConfig } from '@attn/bert';
import { fixturePath } from '@attn/core-tensor/testing';
import { buildProgram } from '../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines (with --json). */
  json: () => Record<string, unknown>[];
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

/** Runs `attn <args>` in this process (commander and all), feeding `stdin`. */
export async function runCli(args: string[], stdin = ''): Promise<CliResult> {
  const out = sink();
  const err = sink();
  let code = 0;
  const program = buildProgram(
    { stdin: Readable.from([Buffer.from(stdin)]), stdout: out.stream, stderr: err.stream },
    (c) => {
      code = c;
    },
  );
  try {
    await program.parseAsync(['node', 'attn', ...args]);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  await new Promise((r) => setImmediate(r));
  const stdout = out.text();
  return {
    code,
    stdout,
    stderr: err.text(),
    json: () =>
      stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

export function golden<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(fixturePath('golden', name), 'utf8')) as T;
}

export function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Labels with softmax scores, best first: what classify-* should print for these logits. */
export function ranked(logits: number[], labels: string[], k: number): { label: string; score: number }[] {
  return softmax(logits)
    .map((score, i) => ({ label: labels[i], score }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

export function expectClose(actual: number[], expected: number[], tol: number, what: string): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: length ${actual.length} ≠ ${expected.length}`);
  const worst = Math.max(0, ...actual.map((a, i) => Math.abs(a - expected[i])));
  if (!(worst <= tol)) throw new Error(`${what}: max |diff| ${worst} > ${tol}`);
}

/**
 * A copy of a fixture model folder with the first value of one tensor set to NaN, so every output of the model
 * is NaN: what a corrupt or badly converted checkpoint gives. The default breaks bert-tiny-random's embeddings.
 */
export function nanModel(fixture = 'bert-tiny-random', tensor = 'bert.embeddings.LayerNorm.bias'): string {
  const dir = mkdtempSync(join(tmpdir(), `attn-nan-${fixture.split('-')[0]}-`));
  const src = fixturePath(fixture);
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
  const file = join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  bytes.writeFloatLE(Number.NaN, 8 + headerLength + header[tensor].data_offsets[0]);
  writeFileSync(file, bytes);
  return dir;
}

export const nanBertModel = (): string => nanModel();

/**
 * A tiny base BERT in `dir` whose vocab is the words of `texts`: a 30522-row embedding would make each
 * training step slow (tfjs' CPU UnsortedSegmentSum, the gradient of gather, loops over every vocab row).
 */
export async function tinyBertBase(dir: string, texts: string[]): Promise<string> {
  const words = [...new Set(texts.flatMap((t) => t.split(' ')))];
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words];
  const tiny = new BertForSequenceClassification(
    bertConfig({
      vocab_size: vocab.length,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 32,
    }),
  );
  await tiny.save(dir);
  tiny.dispose();
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
  return dir;
}
