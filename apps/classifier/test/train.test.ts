/** `attn train bert` / `attn train vit` end to end on tiny data: checkpoints, a usable model folder, falling loss. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@attn/core-tensor';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tinyBertBase } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'attn-train-'));

describe('attn train', () => {
  beforeAll(() => initBackend('wasm'));
  it('train bert fine-tunes a classifier with new labels, checkpoints, and the result classifies', async () => {
    const spam = [
      'win a free prize now',
      'cheap pills click here',
      'free money offer today',
      'claim your free gift',
    ];
    const ham = [
      'meeting moved to monday',
      'please review my patch',
      'lunch at noon tomorrow',
      'the build is green again',
    ];
    const lines = Array.from({ length: 3 }, () => [
      ...spam.map((t) => `spam\t${t}`),
      ...ham.map((t) => `ham\t${t}`),
    ]).flat();
    const data = join(tmp, 'texts.tsv');
    writeFileSync(data, `${lines.join('\n')}\n`);
    const base = await tinyBertBase(join(tmp, 'bert-base'), [...spam, ...ham]);
    const out = join(tmp, 'bert-out');
    const r = await runCli([
      '--backend',
      'wasm',
      '--json',
      'train',
      'bert',
      '--model',
      base,
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '3',
      '--batch-size',
      '4',
      '--lr',
      '5e-3',
      '--test-fraction',
      '0',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.json() as { event: string; trainLoss?: number }[];
    expect(events.map((e) => e.event)).toEqual(['start', 'epoch', 'epoch', 'epoch', 'done']);
    expect(events[3].trainLoss!).toBeLessThan(events[1].trainLoss!);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ 0: 'ham', 1: 'spam' });
    for (const f of ['model.safetensors', 'vocab.txt', 'checkpoint-3/trainer_state.json'])
      expect(existsSync(join(out, f))).toBe(true);
    const c = await runCli(['--json', 'classify-text', '--model', out, '--top', '2', 'free prize']);
    expect(c.code).toBe(0);
    const [line] = c.json() as { predictions: { label: string }[] }[];
    expect(line.predictions.map((p) => p.label).sort()).toEqual(['ham', 'spam']);
  });

  it('train vit learns an image folder from scratch and the result classifies', async () => {
    const data = join(tmp, 'images');
    for (const [label, value] of [
      ['dark', 20],
      ['light', 235],
    ] as const) {
      mkdirSync(join(data, label), { recursive: true });
      for (let i = 0; i < 8; i++) {
        const px = Buffer.alloc(8 * 8, value + ((i * 3) % 7));
        await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
          .png()
          .toFile(join(data, label, `${i}.png`));
      }
    }
    const out = join(tmp, 'vit-out');
    const r = await runCli([
      '--backend',
      'wasm',
      '--json',
      'train',
      'vit',
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '6',
      '--batch-size',
      '4',
      '--lr',
      '5e-3',
      '--image-size',
      '8',
      '--patch-size',
      '4',
      '--hidden-size',
      '16',
      '--layers',
      '1',
      '--heads',
      '2',
      '--test-fraction',
      '0.25',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.json() as { event: string; trainLoss?: number; testAccuracy?: number }[];
    expect(events.filter((e) => e.event === 'epoch')).toHaveLength(6);
    expect(events.at(-2)!.trainLoss!).toBeLessThan(events[1].trainLoss!);
    expect(events.at(-1)).toMatchObject({ event: 'done', testAccuracy: 1 });
    for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json', 'training_curves.png'])
      expect(existsSync(join(out, f))).toBe(true);
    const c = await runCli([
      '--json',
      'classify-image',
      '--model',
      out,
      '--top',
      '1',
      join(data, 'light', '0.png'),
    ]);
    expect((c.json()[0] as { predictions: { label: string }[] }).predictions[0].label).toBe('light');
  });
});
