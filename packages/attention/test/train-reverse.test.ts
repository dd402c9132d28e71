/**
 * The training machinery end to end, kept short: the full run to ≥ 99% exact match is
 * `pnpm --filter @attn/attention train:example` (several CPU-minutes).
 */
import { initBackend } from '@attn/core-tensor';
import { expectNoLeaks } from '@attn/core-tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelConfig, trainReverse } from '../examples/reverse-task.js';
import { Transformer } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('reverse-digits training (short)', () => {
  it('is reproducible from its seed, learns, and leaks nothing', async () => {
    const short = { steps: 40, logEvery: 10, evalEvery: 40, heldOut: 20, batchSize: 16, warmupSteps: 10 };
    const run = () =>
      expectNoLeaks(async () => {
        const r = await trainReverse({ seed: 5, ...short });
        r.model.dispose();
        return r;
      }, 'trainReverse');
    const [a, b] = [await run(), await run()];
    expect(a.lossCurve).toEqual(b.lossCurve);
    expect(a.lossCurve).toHaveLength(4);
    // Chance level is ln(13) ≈ 2.56 per token; 40 small steps must already be well below it.
    expect(a.lossCurve[0]!.loss).toBeGreaterThan(2);
    expect(a.lossCurve.at(-1)!.loss).toBeLessThan(a.lossCurve[0]!.loss - 0.2);
  });

  it('the example model is the size the README states', () => {
    const model = new Transformer(modelConfig(8));
    const count = model.parameters().reduce((n, p) => n + p.variable.size, 0);
    expect(count).toBe(PARAMS);
    model.dispose();
  });
});

const PARAMS = 86_477;
