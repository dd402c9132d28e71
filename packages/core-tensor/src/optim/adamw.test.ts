import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { Module, type Parameter } from '../module.js';
import { readSafetensors } from '../safetensors/read.js';
import { serializeSafetensors } from '../safetensors/write.js';
import { backendsUnderTest, expectNoLeaks } from '../testing.js';
import { AdamW, noDecayForBiasAndNorm } from './adamw.js';
import { linearWarmupDecay } from './schedule.js';

/** torch.optim.AdamW's update, written out in plain float64 JS (torch/optim/adamw.py, single-tensor path). */
function torchAdamW(
  p: number[],
  grads: number[][],
  lrs: number[],
  wd: number,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-8,
) {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  p = [...p];
  grads.forEach((g, i) => {
    const t = i + 1;
    const lr = lrs[i]!;
    for (let j = 0; j < p.length; j++) {
      p[j]! *= 1 - lr * wd;
      m[j] = m[j]! * b1 + (1 - b1) * g[j]!;
      v[j] = v[j]! * b2 + (1 - b2) * g[j]! * g[j]!;
      const stepSize = lr / (1 - b1 ** t);
      const denom = Math.sqrt(v[j]!) / Math.sqrt(1 - b2 ** t) + eps;
      p[j]! -= stepSize * (m[j]! / denom);
    }
  });
  return p;
}

class Pair extends Module {
  readonly w: Parameter;
  readonly bias: Parameter;
  constructor() {
    super();
    this.w = this.param(
      'w',
      tf.tensor2d([
        [0.5, -1.5],
        [2, 0.25],
      ]),
    );
    this.bias = this.param('bias', tf.tensor1d([0.1, -0.2]));
  }
}

const W0 = [0.5, -1.5, 2, 0.25];
const B0 = [0.1, -0.2];
const GW = [
  [0.3, -0.2, 0.05, 1],
  [-0.1, 0.4, 0.2, -0.5],
  [0.02, 0.02, -0.3, 0.7],
  [1, -1, 0.5, 0],
];
const GB = [
  [1, -0.5],
  [0.25, 0.75],
  [-0.6, 0.1],
  [0.3, 0.3],
];
const LRS = [0.01, 0.02, 0.015, 0.005];

/** Applies steps [from, to) of the gradient sequence above. */
function run(opt: AdamW, model: Pair, from: number, to: number) {
  for (let i = from; i < to; i++) {
    opt.lr = LRS[i]!;
    const grads = {
      [model.w.variable.name]: tf.tensor2d(GW[i]!, [2, 2]),
      bias: tf.tensor1d(GB[i]!), // by HF name works too
    };
    opt.step(grads);
    tf.dispose(Object.values(grads));
  }
}

const backends = await backendsUnderTest();

describe.each(backends)('AdamW on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('matches PyTorch AdamW step by step, with decay only where asked', async () => {
    await expectNoLeaks(async () => {
      const model = new Pair();
      const opt = new AdamW(model, { weightDecay: 0.1, decay: noDecayForBiasAndNorm });
      run(opt, model, 0, 4);
      const w = await model.w.variable.data();
      const b = await model.bias.variable.data();
      for (const [j, x] of torchAdamW(W0, GW, LRS, 0.1).entries()) expect(w[j]).toBeCloseTo(x, 6);
      for (const [j, x] of torchAdamW(B0, GB, LRS, 0).entries()) expect(b[j]).toBeCloseTo(x, 6);
      expect(opt.stepCount).toBe(4);
      opt.dispose();
      model.dispose();
    }, 'AdamW');
  });

  it('holds at most three parameter-sized temporaries at its peak, with PyTorch numbers', async () => {
    class Big extends Module {
      readonly w = this.param('w', tf.fill([256, 256], 0.5));
    }
    const model = new Big();
    const opt = new AdamW(model, { weightDecay: 0.1, lr: 0.01 });
    const bytes = 256 * 256 * 4;
    const g = tf.fill([256, 256], 0.3);
    opt.step({ w: g }); // the first step creates the moments: measure the second
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => opt.step({ w: g }));
    expect(info.newBytes).toBe(0);
    // One tidy over the update held 14 × bytes (every intermediate until the end), measured.
    expect(info.peakBytes - before).toBeLessThanOrEqual(3 * bytes + 64); // + scalars
    const [expected] = torchAdamW([0.5], [[0.3], [0.3]], [0.01, 0.01], 0.1);
    const w = await model.w.variable.data();
    expect(w[0]).toBeCloseTo(expected!, 6);
    expect(w[65535]).toBeCloseTo(expected!, 6);
    g.dispose();
    opt.dispose();
    model.dispose();
  });

  it('resumes from a saved state exactly as if never interrupted', async () => {
    await expectNoLeaks(async () => {
      const straight = new Pair();
      const a = new AdamW(straight, { weightDecay: 0.05 });
      run(a, straight, 0, 4);

      const resumed = new Pair();
      const b = new AdamW(resumed, { weightDecay: 0.05 });
      run(b, resumed, 0, 2);
      const state = b.stateDict();
      expect([...state.keys()].sort()).toEqual([
        'bias.exp_avg',
        'bias.exp_avg_sq',
        'step',
        'w.exp_avg',
        'w.exp_avg_sq',
      ]);
      const bytes = await serializeSafetensors(state); // as a checkpoint on disk would hold it
      tf.dispose([...state.values()]);
      b.dispose();
      const c = new AdamW(resumed, { weightDecay: 0.05 });
      const loaded = new Map(
        [...(await readSafetensors(bytes))].map(([k, d]) => [k, tf.tensor(d.data, d.shape)]),
      );
      await c.loadStateDict(loaded);
      tf.dispose([...loaded.values()]);
      expect(c.stepCount).toBe(2);
      run(c, resumed, 2, 4);
      expect(await resumed.w.variable.data()).toEqual(await straight.w.variable.data());
      expect(await resumed.bias.variable.data()).toEqual(await straight.bias.variable.data());
      for (const x of [a, c, straight, resumed]) x.dispose();
    }, 'resume');
  });
});

describe('AdamW state errors and the schedule', () => {
  it('names mis-shaped and unexpected state entries', async () => {
    await initBackend('cpu');
    const model = new Pair();
    const opt = new AdamW(model);
    const bad = new Map<string, tf.Tensor>([
      ['step', tf.scalar(3, 'int32')],
      ['w.exp_avg', tf.zeros([3])],
      ['extra.exp_avg', tf.zeros([1])],
    ]);
    await expect(opt.loadStateDict(bad)).rejects.toThrow(
      /w.exp_avg: shape \[3\] does not match the parameter's \[2,2\][\s\S]*unexpected entry extra.exp_avg/,
    );
    expect(() => opt.step({ nope: bad.get('step')! })).toThrow('gradient for unknown parameter "nope"');
    tf.dispose([...bad.values()]);
    model.dispose();
  });

  it('linearWarmupDecay follows HF get_linear_schedule_with_warmup', () => {
    const o = { warmupSteps: 10, totalSteps: 110, peakLr: 1e-3 };
    expect(linearWarmupDecay(0, o)).toBe(0);
    expect(linearWarmupDecay(5, o)).toBeCloseTo(5e-4, 12);
    expect(linearWarmupDecay(10, o)).toBeCloseTo(1e-3, 12);
    expect(linearWarmupDecay(60, o)).toBeCloseTo(5e-4, 12);
    expect(linearWarmupDecay(110, o)).toBe(0);
    expect(linearWarmupDecay(200, o)).toBe(0);
    expect(linearWarmupDecay(0, { ...o, warmupSteps: 0 })).toBeCloseTo(1e-3, 12);
  });
});
