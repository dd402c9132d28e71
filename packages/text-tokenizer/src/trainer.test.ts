import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, TokenizerError, WordPieceTrainer } from './index.js';

describe('WordPieceTrainer', () => {
  it('learns the merges computed by hand', async () => {
    // hug×3 pug×2 bug×1: (##u,##g) 6 → ##ug; then (h,##ug) 3 → hug; (p,##ug) 2 → pug; (b,##ug) 1 < minFrequency.
    const trainer = new WordPieceTrainer({ vocabSize: 20, specialTokens: ['[UNK]'] });
    const tok = await trainer.train(['Hug hug hug', 'pug pug bug']);
    expect(tok.getVocab()).toEqual([
      '[UNK]',
      'b',
      'g',
      'h',
      'p',
      'u',
      '##b',
      '##g',
      '##h',
      '##p',
      '##u',
      '##ug',
      'hug',
      'pug',
    ]);
    expect(tok.tokenize('bug hug hugs')).toEqual(['b', '##ug', 'hug', '[UNK]']); // no 's' in the alphabet
    const exact = await new WordPieceTrainer({ vocabSize: 13, specialTokens: ['[UNK]'] }).train([
      'hug hug hug pug pug bug',
    ]);
    expect(exact.vocabSize).toBe(13);
  });

  it('reports progress and rejects impossible sizes with a typed error', async () => {
    const seen: string[] = [];
    await new WordPieceTrainer({ vocabSize: 30, onProgress: (p) => seen.push(p.phase) }).train(['abc abd']);
    expect(seen).toContain('count');
    expect(seen).toContain('merge');
    await expect(new WordPieceTrainer({ vocabSize: 6 }).train(['abcdef'])).rejects.toThrow(TokenizerError);
    expect(() => new WordPieceTrainer({ vocabSize: 0 })).toThrow(TokenizerError);
  });

  describe.skipIf(!haveFixtures('trainer round trip on SST-2'))('on SST-2', () => {
    it('has exactly vocabSize entries, specials first, and round-trips held-out text', async () => {
      const train = readFileSync(fixturePath('data/sst2/sst2_test_labelled.tsv'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[1]);
      const heldOut = readFileSync(fixturePath('data/sst2/glue_sst2_dev.tsv'), 'utf8')
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
      const trainer = new WordPieceTrainer({ vocabSize: 3000 });
      const dir = await mkdtemp(join(tmpdir(), 'tt-train-'));
      const corpus = join(dir, 'corpus.txt');
      await import('node:fs/promises').then((fs) => fs.writeFile(corpus, train.join('\n')));
      const tok = await trainer.trainFromFiles([corpus]);
      expect(tok.vocabSize).toBe(3000);
      expect(tok.getVocab().slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
      expect([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId]).toEqual([
        0, 1, 2, 3, 4,
      ]);

      // Sentences over the learned alphabet come back exactly as the normaliser leaves them.
      const alphabet = new Set(tok.getVocab().filter((t) => [...t].length === 1));
      const covered = heldOut.filter((s) =>
        tok.basicTokenize(s).every((w) => [...w].every((c) => alphabet.has(c))),
      );
      expect(covered.length).toBeGreaterThan(0.95 * heldOut.length);
      let pieces = 0;
      let words = 0;
      for (const s of covered) {
        const ids = tok.encode(s).inputIds;
        expect(tok.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe(
          tok.basicTokenize(s).join(' '),
        );
        expect(ids).not.toContain(tok.unkTokenId);
        pieces += ids.length - 2;
        words += tok.basicTokenize(s).length;
      }
      expect(pieces / words).toBeLessThan(1.6); // it learned real subwords, not characters

      await trainer.save(dir);
      const back = await BertTokenizer.fromPretrained(dir);
      expect(back.encode(heldOut[0]).inputIds).toEqual(tok.encode(heldOut[0]).inputIds);
      expect(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')).model.type).toBe('WordPiece');
      await rm(dir, { recursive: true });
    });
  });
});
