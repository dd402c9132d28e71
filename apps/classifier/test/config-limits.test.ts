/**
 * Issue #16 item 7 from the CLI: a config.json that would exhaust memory ends in one typed error line and
 * exit 1, and `--max-model-bytes` (or ATTN_MAX_MODEL_BYTES) sets the size limit.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attn-config-limits-'));

function bertWith(fields: Record<string, unknown>, name: string): string {
  const dir = join(tmp, name);
  cpSync(fixturePath('bert-tiny-random'), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...fields }));
  return dir;
}

describe.skipIf(!haveFixtures('CLI config limits'))('attn and configs that would exhaust memory', () => {
  afterEach(() => {
    delete process.env.ATTN_MAX_MODEL_BYTES;
  });

  it('num_hidden_layers: 1e9 is a BertConfigError naming the file and the field, exit 1', async () => {
    const dir = bertWith({ num_hidden_layers: 1e9 }, 'layers');
    const r = await runCli(['--device', 'cpu', 'classify-text', '--model', dir, 'hello']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `BertConfigError: ${dir}/config.json: config field "num_hidden_layers" must be an integer in [1, 1024], got 1000000000`,
    );
  });

  it('--max-model-bytes below the model refuses it with ModelTooLargeError', async () => {
    const dir = bertWith({}, 'plain');
    const r = await runCli([
      '--device',
      'cpu',
      '--max-model-bytes',
      '1000',
      'classify-text',
      '--model',
      dir,
      'hello',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ModelTooLargeError: .*config\.json: .*over the limit of 1000 bytes; raise it/);
    const bad = await runCli(['--max-model-bytes', 'lots', 'classify-text', '--model', dir, 'hello']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--max-model-bytes must be a positive integer');
  });
});
