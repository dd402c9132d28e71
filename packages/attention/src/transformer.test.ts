import { initBackend, setSeed, tf } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradCheck } from '../test/gradcheck.js';
import { AttentionShapeError, Transformer, type TransformerConfig } from './index.js';

const config: TransformerConfig = {
  srcVocabSize: 9,
  tgtVocabSize: 7,
  dModel: 8,
  numHeads: 2,
  dFF: 16,
  numEncoderLayers: 2,
  numDecoderLayers: 1,
  maxLen: 6,
  padId: 0,
  bosId: 1,
  eosId: 2,
  hiddenAct: 'gelu',
  std: 0.3,
};
const ids = (rows: number[][]) => tf.tensor2d(rows, undefined, 'int32');

beforeAll(async () => {
  await initBackend('cpu');
  setSeed(11);
});

describe('Transformer (encoder-decoder)', () => {
  it('names its parts and gives next-token logits [b, tt, tgtVocab] without leaking', async () => {
    const model = new Transformer({ ...config, norm: 'pre' });
    const names = model.namedParameters().map(([n]) => n);
    for (const n of [
      'src_embed.weight',
      'tgt_embed.weight',
      'encoder.layer.1.attention.self.query.weight',
      'decoder.layer.0.crossattention.self.key.bias',
      'encoder_norm.weight',
      'decoder_norm.bias',
      'generator.weight',
    ])
      expect(names).toContain(n);
    const [src, tgt] = [
      ids([
        [3, 4, 5, 2],
        [6, 2, 0, 0],
      ]),
      ids([
        [1, 5, 6],
        [1, 3, 0],
      ]),
    ];
    await expectNoLeaks(() => {
      const logits = model.forward(src, tgt);
      expect(logits.shape).toEqual([2, 3, 7]);
      logits.dispose();
    }, 'Transformer.forward');
    expect(() => model.forward(ids([[1, 1, 1, 1, 1, 1, 1]]), tgt)).toThrow(AttentionShapeError);
    tf.dispose([src, tgt]);
    model.dispose();
  });

  it('loss is the mean cross-entropy over non-padding targets, with label smoothing', () => {
    const model = new Transformer(config);
    const [src, tgtIn, tgtOut] = [
      ids([
        [3, 4, 2],
        [5, 2, 0],
      ]),
      ids([
        [1, 4, 5],
        [1, 6, 0],
      ]),
      ids([
        [4, 5, 2],
        [6, 2, 0],
      ]),
    ];
    const logits = model.forward(src, tgtIn).arraySync() as number[][][];
    const out = tgtOut.arraySync() as number[][];
    for (const eps of [0, 0.1]) {
      let total = 0;
      let count = 0;
      for (const [b, row] of logits.entries())
        for (const [t, l] of row.entries()) {
          if (out[b]![t] === 0) continue;
          const lse = Math.log(l.reduce((s, x) => s + Math.exp(x), 0));
          const logp = l.map((x) => x - lse);
          total -= (1 - eps) * logp[out[b]![t]!]! + (eps / l.length) * logp.reduce((s, x) => s + x, 0);
          count++;
        }
      const loss = model.loss(src, tgtIn, tgtOut, { labelSmoothing: eps });
      expect(count).toBe(5);
      expect(loss.dataSync()[0]).toBeCloseTo(total / count, 5);
      loss.dispose();
    }
    tf.dispose([src, tgtIn, tgtOut]);
    model.dispose();
  });

  it('padding a source changes nothing; the decoder never looks ahead', () => {
    const model = new Transformer(config);
    const a = model.forward(ids([[3, 4, 2]]), ids([[1, 5, 6]]));
    const b = model.forward(ids([[3, 4, 2, 0, 0]]), ids([[1, 5, 3]]));
    const [va, vb] = [a.arraySync() as number[][][], b.arraySync() as number[][][]];
    for (const t of [0, 1]) for (let v = 0; v < 7; v++) expect(vb[0]![t]![v]).toBeCloseTo(va[0]![t]![v]!, 5);
    tf.dispose([a, b]);
    model.dispose();
  });

  it('greedy decoding equals beam search with one beam, and neither leaks', async () => {
    const model = new Transformer(config);
    const src = ids([
      [3, 4, 5, 2],
      [7, 8, 2, 0],
    ]);
    const greedy = await expectNoLeaks(() => model.greedyDecode(src), 'greedyDecode');
    const beams = await expectNoLeaks(
      () => model.beamSearch(src, { beamSize: 1, lengthPenalty: 0 }),
      'beamSearch',
    );
    expect(beams.map((h) => h[0]!.tokens)).toEqual(greedy);
    const wide = await expectNoLeaks(
      () => model.beamSearch(src, { beamSize: 3, lengthPenalty: 0 }),
      'beamSearch',
    );
    for (let i = 0; i < 2; i++)
      expect(wide[i]![0]!.logProb).toBeGreaterThanOrEqual(beams[i]![0]!.logProb - 1e-5);
    src.dispose();
    model.dispose();
  });

  it('the loss passes a finite-difference gradient check through every part', () => {
    const model = new Transformer({ ...config, norm: 'pre', numEncoderLayers: 1 });
    const [src, tgtIn, tgtOut] = [
      ids([
        [3, 4, 2],
        [5, 2, 0],
      ]),
      ids([
        [1, 4, 5],
        [1, 6, 0],
      ]),
      ids([
        [4, 5, 2],
        [6, 2, 0],
      ]),
    ];
    const { worst, checked } = gradCheck(
      () => model.loss(src, tgtIn, tgtOut, { labelSmoothing: 0.1 }),
      model.parameters().map((p) => p.variable),
      { samples: 2 },
    );
    expect(checked).toBeGreaterThan(80);
    expect(worst).toBeLessThan(2e-2);
    tf.dispose([src, tgtIn, tgtOut]);
    model.dispose();
  });
});
