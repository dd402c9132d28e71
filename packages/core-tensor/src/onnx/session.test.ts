import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init.js';
import { haveOnnxRuntime } from '../testing.js';
import { OnnxGraph } from './graph.js';
import { OnnxSession } from './session.js';

const haveOrt = await haveOnnxRuntime('the session checks');

/** y = x · 2 + 1, x [n]: every output value says which input value onnxruntime read. */
async function affine(n: number) {
  const g = new OnnxGraph('affine');
  const x = g.input('x', 'float32', [n]);
  const y = g.node('Add', [g.node('Mul', [x, g.constFloat([2], [])]), g.constFloat([1], [])]);
  g.output('y', y, 'float32', [n]);
  return OnnxSession.create(g.encode(), { threads: 1 });
}

describe.skipIf(!haveOrt)('OnnxSession.run({ inPlace })', () => {
  let session: OnnxSession;
  const n = 1000;
  const values = Float32Array.from({ length: n }, (_, i) => i - 500);
  const want = Array.from(values, (v) => v * 2 + 1);
  beforeAll(async () => {
    session = await affine(n);
  });
  afterAll(() => session.dispose());

  for (const backend of ['wasm', 'cpu'] as const)
    it(`${backend}: reads the tensor where tfjs keeps it, and gives what a copy gives`, async () => {
      await initBackend(backend);
      const x = tf.tensor1d(values);
      const before = tf.memory().numTensors;
      const { y } = await session.run({ x }, { inPlace: true });
      expect(Array.from(await y!.data())).toEqual(want);
      y!.dispose();
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });

  it('wasm: the heap grows between the call and onnxruntime reading it, and the run repeats on a copy', async () => {
    await initBackend('wasm');
    const x = tf.tensor1d(values);
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
    const old = heap();
    const running = session.run({ x }, { inPlace: true });
    // Before onnxruntime's run (it starts in a setImmediate): an allocation past the heap's size grows it,
    // which detaches every view of the old buffer, the one just handed over included.
    const big = tf.zeros([Math.ceil((old.byteLength * 2) / 4)]);
    expect(heap()).not.toBe(old);
    const { y } = await running;
    expect(Array.from(await y!.data())).toEqual(want);
    tf.dispose([x, y!, big]);
  });
});
