import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadSafetensors, tf } from '@attn/core-tensor';
import { expectNoLeaks, fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertModel } from '../bert-model.js';
import {
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
} from '../classification.js';
import type { BertPreTrainedModel } from '../pretrained.js';
import { BertForPreTraining } from '../pretraining.js';
import { type BertOnnxTask, exportOnnx } from './onnx.js';

interface GoldenInput {
  name: string;
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  last_hidden_state: number[][][];
  pooler_output: number[][];
  nsp_logits: number[][];
  seq_cls_logits: number[][];
  mlm: { probe_ids: number[]; probe_logits: number[][][]; logsumexp: number[][]; argmax: number[][] };
}

/** A stand-in with the two members the exporter reads, so these tests do not wait on the model classes. */
class FixtureBert {
  constructor(
    readonly config: object,
    private readonly tensors: Map<string, tf.Tensor>,
    private readonly keep: (name: string) => boolean,
    private readonly rename: (name: string) => string = (n) => n,
  ) {}
  stateDict() {
    const out = new Map<string, tf.Tensor>();
    for (const [n, t] of this.tensors) if (this.keep(n)) out.set(this.rename(n), tf.clone(t));
    return out;
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: number[]) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const int64 = (rows: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

describe.skipIf(!haveFixtures('BERT ONNX export'))('BERT ONNX export → onnxruntime-node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-bert-onnx-'));
  let tensors: Map<string, tf.Tensor>;
  let config: object;
  let golden: GoldenInput[];

  beforeAll(async () => {
    await initBackend('cpu');
    tensors = await loadSafetensors(fixturePath('bert-tiny-random', 'model.safetensors'));
    config = JSON.parse(readFileSync(fixturePath('bert-tiny-random', 'config.json'), 'utf8'));
    golden = JSON.parse(readFileSync(fixturePath('golden', 'bert-tiny-random.json'), 'utf8')).inputs;
  });
  afterAll(() => {
    for (const t of tensors.values()) t.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function exportAndOpen(model: FixtureBert, task: BertOnnxTask) {
    const path = join(dir, `${task}.onnx`);
    const res = await expectNoLeaks(() => exportOnnx(model, path, { task }), `exportOnnx(${task})`);
    expect(res.inputs).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    return { session: await ort.InferenceSession.create(path), res };
  }
  const feeds = (x: GoldenInput) => ({
    input_ids: int64(x.input_ids),
    attention_mask: int64(x.attention_mask),
    token_type_ids: int64(x.token_type_ids),
  });

  it('BertModel: last_hidden_state and pooler_output match HF on every golden input (incl. the padded batch)', async () => {
    const model = new FixtureBert(
      config,
      tensors,
      (n) => n.startsWith('bert.'),
      (n) => n.slice('bert.'.length),
    );
    const { session, res } = await exportAndOpen(model, 'base');
    expect(res.outputs).toEqual(['last_hidden_state', 'pooler_output']);
    for (const x of golden) {
      const out = await session.run(feeds(x));
      expect(out.last_hidden_state.dims).toEqual([x.input_ids.length, x.input_ids[0].length, 32]);
      expect(
        maxAbsDiff(out.last_hidden_state.data as Float32Array, x.last_hidden_state.flat(2)),
      ).toBeLessThan(1e-4);
      expect(maxAbsDiff(out.pooler_output.data as Float32Array, x.pooler_output.flat())).toBeLessThan(1e-4);
    }
  });

  it('BertForSequenceClassification: logits match HF', async () => {
    const model = new FixtureBert(
      config,
      tensors,
      (n) => n.startsWith('bert.') || n.startsWith('classifier.'),
    );
    const { session, res } = await exportAndOpen(model, 'sequence-classification');
    expect(res.outputs).toEqual(['logits']);
    for (const x of golden) {
      const out = await session.run(feeds(x));
      expect(maxAbsDiff(out.logits.data as Float32Array, x.seq_cls_logits.flat())).toBeLessThan(1e-4);
    }
  });

  it('BertForPreTraining: MLM logits (probes, logsumexp, argmax) and NSP logits match HF, decoder tied', async () => {
    const model = new FixtureBert(config, tensors, (n) => !n.startsWith('classifier.'));
    const { session, res } = await exportAndOpen(model, 'pretraining');
    expect(res.outputs).toEqual(['prediction_logits', 'seq_relationship_logits']);
    for (const x of golden) {
      const out = await session.run(feeds(x));
      expect(maxAbsDiff(out.seq_relationship_logits.data as Float32Array, x.nsp_logits.flat())).toBeLessThan(
        1e-4,
      );
      const logits = out.prediction_logits.data as Float32Array;
      const [B, T, V] = out.prediction_logits.dims as number[];
      expect(V).toBe(30522);
      const probes: number[] = [];
      const lse: number[] = [];
      const argmax: number[] = [];
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) {
          const row = logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
          for (const id of x.mlm.probe_ids) probes.push(row[id]);
          let m = Number.NEGATIVE_INFINITY;
          let arg = 0;
          for (let v = 0; v < V; v++) if (row[v] > m) [m, arg] = [row[v], v];
          let s = 0;
          for (let v = 0; v < V; v++) s += Math.exp(row[v] - m);
          lse.push(m + Math.log(s));
          argmax.push(arg);
        }
      expect(maxAbsDiff(probes, x.mlm.probe_logits.flat(2))).toBeLessThan(1e-4);
      expect(maxAbsDiff(lse, x.mlm.logsumexp.flat())).toBeLessThan(1e-4);
      expect(argmax).toEqual(x.mlm.argmax.flat());
    }
  });

  it('BertForMaskedLM and NSP heads export alone; the task is inferred from the weights', async () => {
    const mlm = new FixtureBert(
      config,
      tensors,
      (n) => n.startsWith('bert.') || n.startsWith('cls.predictions'),
    );
    const path = join(dir, 'inferred.onnx');
    expect(exportOnnx(mlm, path).task).toBe('masked-lm');
    const session = await ort.InferenceSession.create(path);
    const x = golden[1];
    const out = await session.run(feeds(x));
    const V = 30522;
    const probes = x.mlm.probe_ids.map((id) => (out.logits.data as Float32Array)[id]); // position 0
    expect(maxAbsDiff(probes, x.mlm.probe_logits[0][0])).toBeLessThan(1e-4);

    const nsp = new FixtureBert(
      config,
      tensors,
      (n) => n.startsWith('bert.') || n.startsWith('cls.seq_relationship'),
    );
    expect(exportOnnx(nsp, path).task).toBe('next-sentence');
    const nspOut = await (await ort.InferenceSession.create(path)).run(feeds(x));
    expect(maxAbsDiff(nspOut.logits.data as Float32Array, x.nsp_logits.flat())).toBeLessThan(1e-4);
    expect(out.logits.dims).toEqual([1, x.input_ids[0].length, V]);
  });

  it('refuses a task that would silently drop weights, naming them', () => {
    const model = new FixtureBert(
      config,
      tensors,
      (n) => n.startsWith('bert.') || n.startsWith('classifier.'),
    );
    expect(() => exportOnnx(model, join(dir, 'x.onnx'), { task: 'base' })).toThrow(
      /would drop weights: classifier\.bias, classifier\.weight/,
    );
  });

  it('BertForTokenClassification (our class, task from its name): per-token logits equal our forward', async () => {
    const model = await BertForTokenClassification.fromPretrained(fixturePath('bert-tiny-random'));
    const path = join(dir, 'token-cls.onnx');
    expect(exportOnnx(model, path)).toMatchObject({ task: 'token-classification', outputs: ['logits'] });
    const session = await ort.InferenceSession.create(path);
    for (const x of golden) {
      const ours = tf.tidy(
        () =>
          model.forward({
            inputIds: x.input_ids,
            attentionMask: x.attention_mask,
            tokenTypeIds: x.token_type_ids,
          }).logits,
      );
      const want = [...(ours.dataSync() as Float32Array)];
      ours.dispose();
      const out = await session.run(feeds(x));
      expect(out.logits.dims).toEqual([x.input_ids.length, x.input_ids[0].length, 3]);
      expect(maxAbsDiff(out.logits.data as Float32Array, want)).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  it('our classes, walked as loaded (no state-dict copy): every head equals our forward and the HF gold', async () => {
    const dirOf = fixturePath('bert-tiny-random');
    const flat = (t: tf.Tensor | undefined) => [...(t!.dataSync() as Float32Array)];
    const cases: [string, () => Promise<BertPreTrainedModel>, string[]][] = [
      ['BertModel', () => BertModel.fromPretrained(dirOf), ['last_hidden_state', 'pooler_output']],
      [
        'BertForSequenceClassification',
        () => BertForSequenceClassification.fromPretrained(dirOf),
        ['logits'],
      ],
      [
        'BertForPreTraining',
        () => BertForPreTraining.fromPretrained(dirOf),
        ['prediction_logits', 'seq_relationship_logits'],
      ],
      // qa_outputs is new (not in the checkpoint): checked against tfjs only.
      [
        'BertForQuestionAnswering',
        () => BertForQuestionAnswering.fromPretrained(dirOf),
        ['start_logits', 'end_logits'],
      ],
    ];
    for (const [name, load, outputs] of cases) {
      const model = await load();
      for (const p of model.parameters()) void p.variable; // a new head's random init happens on first use, not in the export
      const path = join(dir, `${name}.onnx`);
      const res = await expectNoLeaks(() => exportOnnx(model, path), `exportOnnx(${name})`);
      expect(res.outputs).toEqual(outputs);
      const session = await ort.InferenceSession.create(path);
      for (const x of golden) {
        const out = await session.run(feeds(x));
        const inputs = {
          inputIds: x.input_ids,
          attentionMask: x.attention_mask,
          tokenTypeIds: x.token_type_ids,
        };
        const ours = tf.tidy(() => {
          const o = (model as unknown as { forward(i: object): Record<string, tf.Tensor> }).forward(inputs);
          return outputs.map((n) => o[n.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]);
        });
        const gold: Record<string, number[] | undefined> = {
          last_hidden_state: x.last_hidden_state.flat(2),
          pooler_output: x.pooler_output.flat(),
          logits: x.seq_cls_logits.flat(),
          seq_relationship_logits: x.nsp_logits.flat(),
        };
        outputs.forEach((output, i) => {
          const got = out[output].data as Float32Array;
          expect(maxAbsDiff(got, flat(ours[i])), `${name} ${output} vs tfjs`).toBeLessThan(1e-4);
          if (gold[output])
            expect(maxAbsDiff(got, gold[output]), `${name} ${output} vs HF`).toBeLessThan(1e-4);
        });
        tf.dispose(ours);
      }
      model.dispose();
    }
  });
});
