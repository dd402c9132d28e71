/** `attn train word2vec` and `attn similar` end to end on a tiny corpus with two planted topics. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Random, tf } from '@attn/core-tensor';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSentences, sentenceTokenizer } from '../src/commands/word2vec.js';
import { pca2 } from '../src/render/word2vec-plots.js';
import { runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attn-w2v-'));

describe('attn train word2vec / attn similar', () => {
  beforeAll(() => initBackend('cpu'));

  it('tokenizes English words and Chinese characters with BERT basic tokenization', () => {
    expect(sentenceTokenizer('basic')('Free money, NOW!')).toEqual(['free', 'money', ',', 'now', '!']);
    expect(sentenceTokenizer('basic')('股市上涨')).toEqual(['股', '市', '上', '涨']);
    expect(sentenceTokenizer('chars')('股 市')).toEqual(['股', '市']);
    expect(sentenceTokenizer('whitespace')(' a  B ')).toEqual(['a', 'B']);
    const file = join(tmp, 'tsv.txt');
    writeFileSync(file, '股市\t1\n\n楼市\t2\n');
    expect(readSentences(file, 'basic', 1)).toEqual([
      ['股', '市'],
      ['楼', '市'],
    ]);
    expect(() => readSentences(file, 'basic', 3)).toThrow(/tsv\.txt:1: --field 3 but the line has 2 field/);
  });

  it('trains, writes vectors.txt + word2vec.json + PNGs, and similar finds same-topic words', async () => {
    const random = new Random(2);
    const topics = [
      ['stock', 'market', 'shares', 'bank', 'price', 'fund'],
      ['football', 'match', 'goal', 'team', 'coach', 'league'],
    ];
    const lines = Array.from({ length: 600 }, () => {
      const t = topics[random.int(0, 2)]!;
      return Array.from({ length: 8 }, () => t[random.int(0, t.length)]).join(' ');
    });
    const data = join(tmp, 'corpus.txt');
    writeFileSync(data, `${lines.join('\n')}\n`);
    const out = join(tmp, 'model');
    const r = await runCli([
      '--json',
      'train',
      'word2vec',
      '--data',
      data,
      '--out',
      out,
      '--mode',
      'skipgram',
      '--dim',
      '12',
      '--epochs',
      '3',
      '--min-count',
      '1',
      '--sample',
      '0',
    ]);
    expect(r.stderr).toContain('epoch 3/3: mean loss');
    expect(r.code).toBe(0);
    const [summary] = r.json();
    expect(summary).toMatchObject({ out, vocabSize: 12 });
    const header = readFileSync(join(out, 'vectors.txt'), 'utf8').split('\n')[0];
    expect(header).toBe('12 12');
    const meta = JSON.parse(readFileSync(join(out, 'word2vec.json'), 'utf8'));
    expect(meta.epochLoss).toHaveLength(3);
    expect(['js', 'wasm-simd']).toContain(meta.engine);
    expect(meta.epochLoss[2]).toBeLessThan(meta.epochLoss[0]);
    for (const png of ['loss.png', 'pca.png']) {
      expect(existsSync(join(out, png))).toBe(true);
      expect((await sharp(join(out, png)).metadata()).format).toBe('png');
    }
    const s = await runCli(['--json', 'similar', 'goal', '--model', out, '--top', '5']);
    expect(s.code).toBe(0);
    const [{ neighbours }] = s.json() as { neighbours: { word: string; score: number }[] }[];
    expect(neighbours.map((n) => n.word).sort()).toEqual(['coach', 'football', 'league', 'match', 'team']);
    const text = await runCli(['similar', 'stock', '--model', join(out, 'vectors.txt'), '--top', '2']);
    expect(text.stdout.trim().split('\n')).toHaveLength(2);
    expect(text.stdout).toMatch(/^\S+\t\d\.\d{4}\n/);
  }, 60_000);

  it('--engine tfjs trains on tensor ops and word2vec.json says so; a bad engine is a usage error', async () => {
    const data = join(tmp, 'corpus.txt'); // written by the test above
    const out = join(tmp, 'model-tfjs');
    const args = ['--json', 'train', 'word2vec', '--data', data, '--out', out, '--dim', '8', '--epochs', '1'];
    const r = await runCli([...args, '--min-count', '1', '--engine', 'tfjs', '--batch-size', '256']);
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(join(out, 'word2vec.json'), 'utf8'));
    expect(meta.engine).toBe('tfjs');
    expect(meta.vocabSize).toBe(12);
    const bad = await runCli([...args, '--engine', 'gpu']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--engine.*gpu.*choices/s);
  }, 60_000);

  it('pca2 projects on the two directions of largest variance (by hand: x, then y)', () => {
    const before = tf.memory().numTensors;
    // Centred already; variance 8/3 along x, 2/3 along y, 0 along z.
    const v = tf.tensor2d([
      [2, 0, 0],
      [-2, 0, 0],
      [0, 1, 0],
      [0, -1, 0],
    ]);
    const xy = pca2(v);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const abs = xy.map(([a, b]) => [Math.abs(a), Math.abs(b)]);
    const expected = [
      [2, 0],
      [2, 0],
      [0, 1],
      [0, 1],
    ];
    for (const [i, row] of abs.entries())
      for (const [j, x] of row.entries()) expect(x).toBeCloseTo(expected[i]![j]!, 4);
    expect(Math.sign(xy[0]![0]!)).toBe(-Math.sign(xy[1]![0]!));
  });

  it('an unknown word or a missing model is a one-line error', async () => {
    const out = join(tmp, 'model');
    const r = await runCli(['similar', 'zebra', '--model', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"zebra" is not in the vocabulary/);
    const m = await runCli(['similar', 'goal', '--model', join(tmp, 'nowhere')]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/cannot read .*nowhere/);
    const d = await runCli(['train', 'word2vec', '--data', join(tmp, 'none.txt'), '--out', join(tmp, 'x')]);
    expect(d.stderr).toMatch(/cannot read .*none\.txt: no such file/);
  });
});
