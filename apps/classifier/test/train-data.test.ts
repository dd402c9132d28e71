/**
 * `attn train bert`'s data checks (issue #16): header rows, swapped columns, too many labels, the label counts,
 * epochs counted from 1 and a progress bar whose total is the number of steps.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { initBackend } from '@attn/core-tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { DatasetError, loadTextData } from '../src/datasets.js';
import { runCli, tinyBertBase } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attn-train-data-'));
const file = (name: string, lines: string[]) => {
  const path = join(tmp, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};
const good = ['a fine film', 'loved every minute', 'great acting', 'a joy to watch', 'wonderful'];
const bad = ['a dull film', 'hated it', 'poor acting', 'a chore to watch', 'awful'];
/** 20 rows of SST-2's layout, `sentence<TAB>label`, labels 1 (good) and 0 (bad). */
const sst2 = [...good, ...good].flatMap((g, i) => [`${g}\t1`, `${[...bad, ...bad][i]}\t0`]);

describe('loadTextData', () => {
  it("reads SST-2's sentence<TAB>label with its header: labels from the last column, counts per label", () => {
    const data = loadTextData(file('sst2.tsv', ['sentence\tlabel', ...sst2]), 0);
    expect(data.labels).toEqual(['0', '1']);
    expect(data.counts).toEqual({ 0: 10, 1: 10 });
    expect(data.layout).toBe('labels from the last column, header row skipped');
    expect(data.train[0]).toEqual({ text: 'a fine film', label: 1 });
    expect(data.train).toHaveLength(20);
  });

  it('finds the label column without a header (the one with fewer distinct values), either side', () => {
    const swapped = loadTextData(file('swapped.tsv', sst2), 0);
    expect(swapped.layout).toBe('labels from the last column');
    expect(swapped.train[1]).toEqual({ text: 'a dull film', label: 0 });
    const usual = loadTextData(
      file(
        'usual.tsv',
        sst2.map((l) => l.split('\t').reverse().join('\t')),
      ),
      0,
    );
    expect(usual.layout).toBe('labels from the first column');
    expect(usual.counts).toEqual({ 0: 10, 1: 10 });
  });

  it('skips a header with names it does not know: its "label" is seen once, real labels repeat', () => {
    const data = loadTextData(file('odd-header.tsv', ['comment\tpolarity', ...sst2]), 0);
    expect(data.labels).toEqual(['0', '1']);
    expect(data.layout).toBe('labels from the last column, header row skipped');
  });

  it('refuses more than one label per ten rows unless allowed', () => {
    const rows = sst2.map((l, i) => `${l.split('\t')[0]}\t${i % 3}`); // 20 rows, 3 labels
    const path = file('many.tsv', rows);
    expect(() => loadTextData(path, 0)).toThrow(DatasetError);
    expect(() => loadTextData(path, 0)).toThrow(
      `${path}: 3 labels for 20 rows (more than one per ten rows; labels from the last column): is the label column right? --allow-many-labels trains anyway`,
    );
    expect(loadTextData(path, 0, { allowManyLabels: true }).labels).toEqual(['0', '1', '2']);
  });
});

describe('attn train bert on SST-2 style data', () => {
  beforeAll(() => initBackend('wasm'));

  const tinyBase = () => tinyBertBase(join(tmp, 'bert-base'), [...good, ...bad]);

  it('prints the label counts, counts epochs from 1 (--json and history), and the bar shows step k/total', async () => {
    const base = await tinyBase();
    const data = file('train.tsv', ['sentence\tlabel', ...sst2]);
    const args = (out: string) => [
      'train',
      'bert',
      '--model',
      base,
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--test-fraction',
      '0',
    ];
    const r = await runCli(['--backend', 'wasm', '--json', ...args(join(tmp, 'out-json'))]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.json() as { event: string; epoch?: number; counts?: Record<string, number> }[];
    expect(events[0]).toMatchObject({ event: 'start', labels: ['0', '1'], counts: { 0: 10, 1: 10 } });
    expect(events.filter((e) => e.event === 'epoch').map((e) => e.epoch)).toEqual([1, 2]);
    const history = JSON.parse(readFileSync(join(tmp, 'out-json', 'training_history.json'), 'utf8'));
    expect(history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2]);

    // A terminal on stderr: the bar's total is the 6 steps (3 per epoch), not the placeholder 1.
    const stderr = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 120,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      clearScreenDown: () => true,
    });
    const stdout = new PassThrough();
    const seen: Buffer[] = [];
    stderr.on('data', (d: Buffer) => seen.push(d));
    const said: Buffer[] = [];
    stdout.on('data', (d: Buffer) => said.push(d));
    let code = -1;
    await buildProgram({ stdin: Readable.from([]), stdout, stderr }, (c) => {
      code = c;
    }).parseAsync(['node', 'attn', '--backend', 'wasm', ...args(join(tmp, 'out-tty'))]);
    expect(code).toBe(0);
    const bar = Buffer.concat(seen).toString('utf8');
    expect(bar).toMatch(/epoch 2 \|.*\| step 6\/6 \|/);
    expect(bar).not.toMatch(/step \d+\/1 /);
    expect(bar).not.toMatch(/epoch 0/);
    expect(Buffer.concat(said).toString('utf8')).toMatch(
      /labels 0 10, 1 10 \(labels from the last column, header row skipped\)/,
    );
  });
});
