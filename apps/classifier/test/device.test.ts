/** --device on the commands: the default picks the fastest engine and says so; old flags still work, with a notice. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('--device', () => {
  it('attn demo with no options runs on the native engine (onnxruntime-node is installed here) and says so', async () => {
    const r = await runCli(['demo', '--top', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^attn demo: built-in models, device native \(onnxruntime-node\)/);
    expect(r.stdout).toMatch(/digit-3\.png\s+3 \(/);
    expect(r.stdout).toMatch(/spam/);
  });

  it('every model command takes it: classify-text on native and on wasm give the same labels', async () => {
    const texts = ['WIN A FREE PRIZE NOW click here', 'meeting notes attached, see you tomorrow'];
    const native = await runCli(['--device', 'native', '--json', 'classify-text', '--top', '2', ...texts]);
    const wasm = await runCli(['--device', 'wasm', '--json', 'classify-text', '--top', '2', ...texts]);
    expect(native.code).toBe(0);
    expect(wasm.code).toBe(0);
    const a = native.json() as { predictions: { label: string; score: number }[] }[];
    const b = wasm.json() as { predictions: { label: string; score: number }[] }[];
    for (const [i, line] of a.entries())
      for (const [k, p] of line.predictions.entries()) {
        expect(p.label).toBe(b[i]!.predictions[k]!.label);
        expect(Math.abs(p.score - b[i]!.predictions[k]!.score)).toBeLessThan(1e-4);
      }
  });

  it('a model without the task head is refused, naming the missing tensors (no random guesses)', async () => {
    const r = await runCli(['classify-text', '--model', 'spam-bert-mlm', 'hello']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MissingWeightsError.*classifier\.weight/);
    const f = await runCli(['fill-mask', '--model', 'spam-bert', 'click [MASK] now']);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/cls\.predictions/);
  });

  it('fill-mask fills every [MASK]', async () => {
    const r = await runCli(['--json', 'fill-mask', '--top', '3', 'click [MASK] to [MASK] from this list.']);
    expect(r.code).toBe(0);
    const [line] = r.json() as { predictions: { label: string; sequence: string }[][] }[];
    expect(line!.predictions).toHaveLength(2);
    for (const list of line!.predictions) expect(list).toHaveLength(3);
  });

  it('embed: --runtime onnx and --workers still work, and say what replaces them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-device-'));
    try {
      const input = join(dir, 'in.txt');
      writeFileSync(input, 'one line\nanother line\n');
      const old = await runCli(['embed', '--runtime', 'onnx', '--workers', '2', '--input', input]);
      expect(old.code).toBe(0);
      expect(old.stderr).toMatch(/--workers is deprecated/);
      expect(old.stderr).toMatch(/--runtime is deprecated: use --device native/);
      const now = await runCli(['--device', 'native', 'embed', '--input', input]);
      expect(now.stderr).toBe('');
      expect(now.stdout).toBe(old.stdout);
      expect(now.stdout.trim().split('\n')).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--threads is a deprecated no-op notice; an unknown device is a usage error', async () => {
    const r = await runCli(['--threads', '2', '--device', 'cpu', 'tokenize', 'hello']);
    expect(r.stderr).toMatch(/--threads is deprecated/);
    const bad = await runCli(['--device', 'tpu', 'tokenize', 'hello']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--device.*tpu/);
  });
});
