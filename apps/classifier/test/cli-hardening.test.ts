/**
 * The CLI under bad input (issue #16): a missing input file, blank texts, over-long lines and a model that
 * outputs NaN each end in one typed error line and a non-zero exit, never a stack trace or `NaN` on stdout.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@attn/core-tensor';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { nanBertModel, nanModel, runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attn-cli-hardening-'));

describe.skipIf(!haveFixtures('classifier CLI hardening tests'))('attn CLI under bad input', () => {
  const bert = fixturePath('bert-tiny-random');
  beforeAll(() => initBackend('wasm'));

  it('embed --input of a missing file or a folder: InputFileError naming it, exit 1', async () => {
    const missing = join(tmp, 'missing.txt');
    const r = await runCli(['embed', '--model', bert, '--input', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attn: InputFileError: cannot read ${missing}: no such file\n`);
    expect(r.stdout).toBe('');
    const folder = await runCli(['embed', '--model', bert, '--input', tmp]);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toBe(`attn: InputFileError: cannot read ${tmp}: it is a folder, not a file\n`);
  });

  it('embed stops at a line over --max-line-length, naming the file and the line', async () => {
    const file = join(tmp, 'long.txt');
    writeFileSync(file, `short\n${'x'.repeat(2000)}\nafter\n`);
    const r = await runCli(['embed', '--model', bert, '--input', file, '--max-line-length', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `attn: LineTooLongError: ${file}: line 2 is longer than 1000 characters (--max-line-length raises the limit)\n`,
    );
    const raised = await runCli([
      '--json',
      'embed',
      '--model',
      bert,
      '--input',
      file,
      '--max-line-length',
      '2000',
    ]);
    expect(raised.code).toBe(0);
    expect(raised.json().map((l) => l.id)).toEqual([1, 2, 3]);
  });

  it('classify-text refuses an empty or whitespace-only text with exit 2', async () => {
    const r = await runCli(['classify-text', '--model', bert, 'fine', '  \t ']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('attn: UsageError: text 2 of the arguments is empty or only whitespace\n');
    expect(r.stdout).toBe('');
    const empty = await runCli(['classify-text', '--model', bert, '']);
    expect(empty.code).toBe(2);
    const blankStdin = await runCli(['classify-text', '--model', bert], '\n   \n\t\n');
    expect(blankStdin.code).toBe(2);
    expect(blankStdin.stderr).toBe(
      'attn: UsageError: no text to classify: give texts as arguments or non-blank lines on stdin\n',
    );
    const jsonl = await runCli(['embed', '--model', bert], '{"id": "a", "text": "   "}\n');
    expect(jsonl.code).toBe(1);
    expect(jsonl.stderr).toBe('attn: stdin: EmbedInputError: line 1: "text" is empty or only whitespace\n');
  });

  it('a model that outputs NaN: NonFiniteOutputError naming the model and the input, exit 1, no NaN printed', async () => {
    const broken = nanBertModel();
    const text = await runCli(['classify-text', '--model', broken, 'hello world']);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toBe(
      `attn: "hello world": NonFiniteOutputError: model ${broken} gave NaN or Infinity for the text "hello world"\n`,
    );
    const file = join(tmp, 'texts.txt');
    writeFileSync(file, 'first line\n\nthird line\n');
    const embed = await runCli(['embed', '--model', broken, '--input', file]);
    expect(embed.code).toBe(1);
    expect(embed.stdout).not.toMatch(/NaN/);
    expect(embed.stderr).toBe(
      `attn: NonFiniteOutputError: model ${broken} gave NaN or Infinity for ${file} line 1\n`,
    );
    const vit = nanModel('vit-tiny-random', 'vit.encoder.layer.0.layernorm_before.bias');
    const image = fixturePath('golden', 'images', 'checkerboard_64x64.png');
    const img = await runCli(['classify-image', '--model', vit, image]);
    expect(img.code).toBe(1);
    expect(img.stdout).toBe('');
    expect(img.stderr).toMatch(
      `NonFiniteOutputError: model ${vit} gave NaN or Infinity for the image ${image}`,
    );
  });
});
