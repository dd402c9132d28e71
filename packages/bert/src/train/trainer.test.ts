import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, setSeed, type TrainProgress, tf, train } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '../classification.js';
import { bertConfig } from '../config.js';
import { Random } from '../data/random.js';

// A toy task the first token decides (3 → 0, 4 → 1); the point is the trainer's mechanics.
// Dropout off, so runs are deterministic and comparable.
const config = bertConfig({
  vocab_size: 20,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 16,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  initializer_range: 0.2,
});
const r = new Random(3);
const data = Array.from({ length: 64 }, () => {
  const label = r.int(0, 2);
  return { ids: [3 + label, ...Array.from({ length: 8 }, () => r.int(5, 20)), 2], label };
});
type Batch = { inputIds: number[][]; labels: number[] };
const batches = (epoch: number): Batch[] => {
  const order = new Random(99 + epoch).shuffle([...data]); // epochs count from 1
  return Array.from({ length: 8 }, (_, i) => {
    const xs = order.slice(8 * i, 8 * i + 8);
    return { inputIds: xs.map((x) => x.ids), labels: xs.map((x) => x.label) };
  });
};

function makeModel() {
  setSeed(5);
  return new BertForSequenceClassification(config);
}

async function run(
  model: BertForSequenceClassification,
  epochs: number,
  checkpointDir?: string,
  onProgress?: (p: TrainProgress) => void,
) {
  return train<Batch>({
    model,
    loss: (b) => model.forward(b).loss!,
    batches,
    batchesPerEpoch: 8,
    epochs: 8,
    learningRate: 1e-2,
    gradientAccumulationSteps: 2,
    maxGradNorm: 1,
    checkpointDir,
    evaluate: () => ({ accuracy: accuracy(model) }),
    onProgress,
    ...(epochs < 8 ? { stopAfterEpochs: epochs } : {}),
  });
}

function accuracy(model: BertForSequenceClassification) {
  return tf.tidy(() => {
    const pred = tf.argMax(model.forward({ inputIds: data.map((d) => d.ids) }).logits, -1).dataSync();
    return data.filter((d, i) => pred[i] === d.label).length / data.length;
  });
}

describe('train(): AdamW, warm-up/decay, clipping, accumulation, checkpoints, resume', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'attn-train-'));
  beforeAll(() => initBackend('cpu'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('learns, reports progress per optimizer step, and resumes to the identical result', async () => {
    const straight = makeModel();
    const steps: TrainProgress[] = [];
    const history = await expectNoLeaks(() => run(straight, 8, undefined, (p) => steps.push(p)), 'training');
    expect(steps.length).toBe(32); // 8 epochs × 8 batches / accumulation 2
    expect(steps.at(-1)!.step).toBe(32);
    expect(Math.max(...steps.map((s) => s.lr))).toBeCloseTo(1e-2, 8);
    expect(steps.map((s) => s.epoch)).toEqual(Array.from({ length: 32 }, (_, i) => 1 + Math.floor(i / 4)));
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(history.at(-1)!.trainLoss).toBeLessThan(history[0]!.trainLoss);
    expect(history.at(-1)!.metrics.accuracy).toBeGreaterThan(0.95);

    // interrupted after 3 epochs, then resumed from the checkpoint into a fresh model
    const dir = join(tmp, 'run');
    const first = makeModel();
    await run(first, 3, dir);
    first.dispose();
    expect(readdirSync(dir)).toEqual(['checkpoint-3']); // the older ones deleted, no temporary folder
    expect(readdirSync(join(dir, 'checkpoint-3')).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    const resumed = makeModel();
    const resumedHistory = await run(resumed, 8, dir);
    expect(resumedHistory.map((h) => h.trainLoss)).toEqual(history.map((h) => h.trainLoss));
    const a = straight.stateDict();
    const b = resumed.stateDict();
    for (const [name, t] of a)
      expect(Array.from(b.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
    tf.dispose([...a.values(), ...b.values()]);
    straight.dispose();
    resumed.dispose();
  });
});
