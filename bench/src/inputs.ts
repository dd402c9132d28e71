/** The seeded inputs every runtime is timed on, in Node and in the browser bench's pages alike. */
import { Random } from '@attn/core-tensor';

export function bertInputs(batch: number, seq: number) {
  // Seeded, so every runtime sees the same inputs.
  const r = new Random(7);
  const ids = Int32Array.from({ length: batch * seq }, (_, i) =>
    i % seq === 0 ? 101 : 1000 + Math.floor(r.next() * 29000),
  );
  return { ids, mask: new Int32Array(batch * seq).fill(1), types: new Int32Array(batch * seq) };
}
export function pixels(batch: number, size: number) {
  const r = new Random(11);
  return Float32Array.from({ length: batch * 3 * size * size }, () => r.next() * 2 - 1);
}
