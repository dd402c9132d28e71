import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, readSafetensors } from '@attn/core-tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForPreTraining, BertForSequenceClassification, BertModel } from '../src/index.js';
import { GOLD_DIR, haveFixtures } from './helpers.js';

describe.skipIf(!haveFixtures('bert save/load'))('save → fromPretrained', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'attn-bert-'));
  beforeAll(() => initBackend('cpu'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes exactly the fixture tensors (names, shapes, bits) and config, tied weights once', async () => {
    const fixture = await readSafetensors(join(GOLD_DIR(), 'model.safetensors'));
    const pre = await BertForPreTraining.fromPretrained(GOLD_DIR());
    const cls = await BertForSequenceClassification.fromPretrained(GOLD_DIR());
    await pre.save(join(tmp, 'pre'));
    await cls.save(join(tmp, 'cls'));
    pre.dispose();
    cls.dispose();
    const savedPre = await readSafetensors(join(tmp, 'pre', 'model.safetensors'));
    const savedCls = await readSafetensors(join(tmp, 'cls', 'model.safetensors'));
    expect([...savedPre.keys()].some((k) => k.startsWith('cls.predictions.decoder'))).toBe(false);
    // the fixture is the union of the two heads' state dicts
    const union = new Map([...savedPre, ...savedCls]);
    expect([...union.keys()].sort()).toEqual([...fixture.keys()].sort());
    for (const [name, t] of fixture) {
      const got = union.get(name)!;
      expect(got.shape, name).toEqual(t.shape);
      expect(Buffer.from(got.data.buffer).equals(Buffer.from(t.data.buffer)), `${name} bit-exact`).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(tmp, 'pre', 'config.json'), 'utf8'));
    const original = JSON.parse(readFileSync(join(GOLD_DIR(), 'config.json'), 'utf8'));
    expect(config).toEqual({ ...original, architectures: ['BertForPreTraining'] });
  });

  it('reloads a saved model bit-exactly', async () => {
    const a = await BertForPreTraining.fromPretrained(join(tmp, 'pre'));
    await a.save(join(tmp, 'pre2'));
    const b = await BertForPreTraining.fromPretrained(join(tmp, 'pre2'));
    const sa = a.stateDict();
    const sb = b.stateDict();
    for (const [name, t] of sa)
      expect(Array.from(sb.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
    for (const t of [...sa.values(), ...sb.values()]) t.dispose();
    a.dispose();
    b.dispose();
  });

  it('loads a bare BertModel checkpoint into a task model (prefix added, head reported missing), and back', async () => {
    const base = await BertModel.fromPretrained(GOLD_DIR()); // strips the bert. prefix
    await base.save(join(tmp, 'base'));
    const names = [...(await readSafetensors(join(tmp, 'base', 'model.safetensors'))).keys()];
    expect(names.every((n) => !n.startsWith('bert.'))).toBe(true);
    expect(names).toContain('embeddings.word_embeddings.weight');
    const cls = await BertForSequenceClassification.fromPretrained(join(tmp, 'base'), {
      config: { id2label: { 0: 'ham', 1: 'spam' } },
    });
    expect(cls.loadingInfo).toEqual({ missing: ['classifier.weight', 'classifier.bias'], unexpected: [] });
    expect(cls.config.label2id).toEqual({ ham: 0, spam: 1 });
    const w = cls.bert.embeddings.word_embeddings.weight.value.dataSync();
    expect(w.slice(32 * 1996, 32 * 1997)).toEqual(
      base.embeddings.word_embeddings.weight.value.dataSync().slice(32 * 1996, 32 * 1997),
    );
    cls.dispose();
    base.dispose();
  });
});
