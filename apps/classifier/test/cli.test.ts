/**
 * The CLI end to end (commander included, in-process) on the Hugging Face fixture models: every number is
 * checked against the transformers 4.31 goldens.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageClassifier, loadTextClassifier } from '../src/engines.js';
import { expectClose, golden, ranked, runCli } from './helpers.js';

type Pred = { label: string; score: number };
// biome-ignore lint/suspicious/noExplicitAny: golden JSON of many shapes, read field by field
type Gold = Record<string, any>;
const tmp = mkdtempSync(join(tmpdir(), 'attn-cli-'));

describe.skipIf(!haveFixtures('classifier CLI tests'))('attn CLI on the fixture models', () => {
  const vit = fixturePath('vit-tiny-random');
  const bert = fixturePath('bert-tiny-random');
  const vitGold = golden<{ images: { image: string; logits: number[][] }[] }>('vit-tiny-random.json').images;
  const bertGold = golden<{ inputs: Gold[] }>('bert-tiny-random.json').inputs;
  const vitLabels = ['cat', 'dog', 'car', 'cup', 'rocket'];
  const bertLabels = ['negative', 'neutral', 'positive'];
  beforeAll(() => initBackend('wasm'));

  for (const backend of ['cpu', 'wasm']) {
    it(`classify-image gives Hugging Face's labels and scores (${backend})`, async () => {
      const cases = [vitGold[0], vitGold[1], vitGold[5]]; // gradient, checkerboard, noise (downscaled)
      const files = cases.map((c) => fixturePath('golden', c.image));
      const r = await runCli([
        '--backend',
        backend,
        '--json',
        'classify-image',
        '--model',
        vit,
        '--top',
        '5',
        ...files,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.json() as { input: string; predictions: Pred[] }[];
      expect(lines.map((l) => l.input)).toEqual(files);
      for (const [i, c] of cases.entries()) {
        const want = ranked(c.logits[0], vitLabels, 5);
        expect(lines[i].predictions.map((p) => p.label)).toEqual(want.map((p) => p.label));
        expectClose(
          lines[i].predictions.map((p) => p.score),
          want.map((p) => p.score),
          1e-4,
          c.image,
        );
      }
    });

    it(`classify-text gives Hugging Face's labels and scores, padded batch included (${backend})`, async () => {
      const batch = bertGold[5];
      const stdin = `${bertGold[0].text}\n${batch.texts.join('\n')}\n`;
      const r = await runCli(
        ['--backend', backend, '--json', 'classify-text', '--model', bert, '--top', '3'],
        stdin,
      );
      expect(r.code).toBe(0);
      const lines = r.json() as { input: string; predictions: Pred[] }[];
      const logits = [bertGold[0].seq_cls_logits[0], ...batch.seq_cls_logits];
      expect(lines.map((l) => l.input)).toEqual([bertGold[0].text, ...batch.texts]);
      for (const [i, l] of lines.entries()) {
        const want = ranked(logits[i], bertLabels, 3);
        expect(l.predictions.map((p) => p.label)).toEqual(want.map((p) => p.label));
        expectClose(
          l.predictions.map((p) => p.score),
          want.map((p) => p.score),
          1e-4,
          l.input,
        );
      }
    });
  }

  it('classify-image --model takes a real Hugging Face folder: ViT-Tiny on Tiny-ImageNet photos gives its top-5', async () => {
    const dir = fixturePath('models/vit-tiny-tinyimagenet');
    const id2label = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).id2label as Record<
      string,
      string
    >;
    const cases = golden<{ images: Gold[] }>('vit-tiny-tinyimagenet.json').images.slice(0, 3);
    const files = cases.map((c) => fixturePath('data/tiny-imagenet-val-200', c.file));
    const r = await runCli(['--backend', 'wasm', '--json', 'classify-image', '--model', dir, ...files]);
    expect(r.code).toBe(0);
    for (const [i, line] of (r.json() as { predictions: Pred[] }[]).entries()) {
      expect(line.predictions.map((p) => p.label)).toEqual(
        cases[i].top5_ids.map((id: number) => id2label[id]),
      );
      expectClose(
        line.predictions.map((p) => p.score),
        cases[i].top5_probs,
        1e-4,
        cases[i].file,
      );
    }
  });

  it('classify-image reports a bad file on one line, exits 1, and still classifies the others', async () => {
    const fake = join(tmp, 'not-an-image.png');
    writeFileSync(fake, 'this is text, not a PNG');
    const good = fixturePath('golden', vitGold[2].image);
    const r = await runCli(['--backend', 'wasm', 'classify-image', '--model', vit, fake, good]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(fake);
    expect(r.stdout).toContain(`${good}  ${ranked(vitGold[2].logits[0], vitLabels, 1)[0].label} (`);
  });

  it('fill-mask ranks the tokens as Hugging Face does', async () => {
    const g = bertGold[1]; // "Paris is the [MASK] of France."
    const pos = g.input_ids[0].indexOf(103);
    const r = await runCli([
      '--backend',
      'wasm',
      '--json',
      'fill-mask',
      '--model',
      bert,
      '--top',
      '5',
      g.text,
    ]);
    expect(r.code).toBe(0);
    const [line] = r.json() as { predictions: (Pred & { tokenId: number; sequence: string })[] }[];
    expect(line.predictions.map((p) => p.tokenId)).toEqual(g.mlm.top5_ids[0][pos]);
    const lse = g.mlm.logsumexp[0][pos];
    expectClose(
      line.predictions.map((p) => p.score),
      g.mlm.top5_logits[0][pos].map((l: number) => Math.exp(l - lse)),
      1e-4,
      'fill-mask scores',
    );
    expect(line.predictions[0].sequence).toMatch(/^paris is the .+ of france\.$/);
  });

  it('tokenize prints the golden tokens and ids', async () => {
    const g = bertGold[2]; // accents, emoji, CJK
    const r = await runCli(['--json', 'tokenize', '--model', bert, g.text]);
    expect(r.json()).toEqual([{ input: g.text, tokens: g.tokens[0], ids: g.input_ids[0] }]);
    const plain = await runCli(['tokenize', '--model', bert, g.text]);
    expect(plain.stdout).toBe(`tokens: ${g.tokens[0].join(' ')}\nids:    ${g.input_ids[0].join(' ')}\n`);
  });

  it('embed streams JSONL: mean pooling over real tokens (tfjs), and normalised CLS (onnx runtime), as computed from the gold', async () => {
    const batch = bertGold[5];
    const stdin = `${batch.texts[0]}\n\n{"id": "b", "text": ${JSON.stringify(batch.texts[1])}}\n${batch.texts[2]}\n`;
    const mean = await runCli(['--backend', 'wasm', 'embed', '--model', bert, '--batch-size', '2'], stdin);
    expect(mean.code).toBe(0);
    const rows = mean.json() as { id: unknown; embedding: number[] }[];
    expect(rows.map((r) => r.id)).toEqual([1, 'b', 4]); // plain lines: their line number; blank lines skipped
    for (const [i, row] of rows.entries()) {
      const hidden: number[][] = batch.last_hidden_state[i];
      const mask: number[] = batch.attention_mask[i];
      const n = mask.reduce((a, b) => a + b, 0);
      const want = hidden[0].map((_, h) => hidden.reduce((s, tok, t) => s + tok[h] * mask[t], 0) / n);
      expectClose(row.embedding, want, 1e-4, `mean embedding ${i}`);
    }
    const cls = await runCli(
      ['embed', '--model', bert, '--pooling', 'cls', '--normalize', '--runtime', 'onnx'],
      `${batch.texts[0]}\n`,
    );
    const [v] = cls.json() as { embedding: number[] }[];
    const c: number[] = batch.last_hidden_state[0][0];
    const norm = Math.hypot(...c);
    expectClose(
      v.embedding,
      c.map((x) => x / norm),
      1e-4,
      'normalised CLS',
    );
  });

  it('embed --workers 2 (deprecated: the device uses every core) still runs, with a notice, and gives the same vectors', async () => {
    const batch = bertGold[5];
    const stdin = `${batch.texts.join('\n')}\n`;
    const args = ['--backend', 'wasm', 'embed', '--model', bert, '--batch-size', '3'];
    const one = await runCli(args, stdin);
    const two = await runCli([...args, '--workers', '2'], stdin);
    expect(two.code).toBe(0);
    expect(two.stderr).toMatch(/--workers is deprecated/);
    const [a, b] = [one.json(), two.json()] as { id: unknown; embedding: number[] }[][];
    expect(b.map((r) => r.id)).toEqual(a.map((r) => r.id));
    for (const [i, row] of b.entries())
      expectClose(row.embedding, a[i]!.embedding, 1e-5, `worker embedding ${i}`);
    const both = await runCli([...args, '--workers', '2', '--runtime', 'onnx'], stdin);
    expect(both.code).toBe(0);
    expect(both.stderr).toMatch(/--runtime is deprecated/);
    for (const [i, row] of (both.json() as { embedding: number[] }[]).entries())
      expectClose(row.embedding, a[i]!.embedding, 1e-4, `native embedding ${i}`);
  });

  it('embed reports a bad JSONL line, exits 1, and embeds the rest', async () => {
    const r = await runCli(
      ['embed', '--model', bert],
      '{"id": 1, "text": "ok"}\n{not json\n{"id": 3}\nfine\n',
    );
    expect(r.code).toBe(1);
    expect((r.json() as { id: unknown }[]).map((x) => x.id)).toEqual([1, 4]);
    expect(r.stderr).toMatch(/EmbedInputError: line 2: not valid JSON/);
    expect(r.stderr).toMatch(/EmbedInputError: line 3: JSON object has no string "text" field/);
  });

  it('attention for text: the last layer averaged over heads, drawn as a labelled token × token PNG', async () => {
    const g = bertGold[0];
    // on tfjs: with the native engine the first picture loads the tfjs model (onnxruntime has no attention maps)
    const model = await loadTextClassifier(bert, 'wasm');
    const att = await expectNoLeaks(() => model.attention(g.text), 'text attention');
    model.dispose();
    expect(att.tokens).toEqual(g.tokens[0]);
    expect(att.layer).toBe(1);
    const heads: number[][][] = g.attentions_all_layers[1][0]; // [heads, t, t] of the last layer
    const want = heads[0].map((row, i) =>
      row.map((_, j) => heads.reduce((s, h) => s + h[i][j], 0) / heads.length),
    );
    expectClose(att.weights.flat(), want.flat(), 1e-5, 'mean attention');

    const out = join(tmp, 'text-attention.png');
    const r = await runCli(['--backend', 'wasm', 'attention', '--model', bert, '--out', out, g.text]);
    expect(r.code).toBe(0);
    const meta = await sharp(readFileSync(out)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(12 * 22);
  });

  it('attention for an image: the rollout drawn over the picture, leaving no tensors behind', async () => {
    const file = fixturePath('golden', vitGold[0].image); // 40 × 30
    // the default device is native here: the first picture loads the tfjs model the rollout needs, once
    const model = await loadImageClassifier(vit);
    await model.attentionPng(file);
    const png = await expectNoLeaks(() => model.attentionPng(file), 'image attention');
    model.dispose();
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width]).toEqual(['png', 224]);
    expect(meta.height).toBeGreaterThan(168 + 40); // the 224 × 168 overlay, then its colour bar and caption
    const out = join(tmp, 'image-attention.png');
    const r = await runCli(['--backend', 'wasm', 'attention', '--model', vit, '--out', out, file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${out}\n`);
    expect(readFileSync(out).equals(png)).toBe(true);
  });

  it('export onnx writes the file when @attn/bert offers exportOnnx, and says it is not available otherwise', async () => {
    const offers = typeof ((await import('@attn/bert')) as Record<string, unknown>).exportOnnx === 'function';
    const out = join(tmp, 'bert.onnx');
    const r = await runCli(['export', 'onnx', '--model', bert, '--out', out]);
    if (offers) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`wrote ${out} (pretraining)\n`);
      expect(statSync(out).size).toBeGreaterThan(4_000_000); // the 30522 × 32 float32 embedding alone is 3.9 MB
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'attn: ExportUnavailableError: ONNX export is not available: @attn/bert has no exportOnnx yet\n',
      );
    }
  });

  it('bad calls exit non-zero with one line: no [MASK] (usage, 2), unknown model (1)', async () => {
    const noMask = await runCli(['fill-mask', '--model', bert, 'no mask here']);
    expect(noMask.code).toBe(2);
    expect(noMask.stderr).toBe('attn: UsageError: text has no [MASK] token: "no mask here"\n');
    const unknown = await runCli(['classify-text', '--model', 'no-such-model', 'hi']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/ModelNotFoundError: model "no-such-model"/);
  });

  it('leaves no tensors behind across commands', async () => {
    const before = tf.memory().numTensors;
    await runCli(['classify-text', '--model', bert, 'hello']);
    await runCli(['classify-image', '--model', vit, fixturePath('golden', vitGold[0].image)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
