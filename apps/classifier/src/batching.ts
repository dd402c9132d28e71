/**
 * Running many inputs through a model in batches, without letting one bad input sink the others:
 * a batch that throws is re-run one item at a time, so each item gets its own result or its own error.
 */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export async function runIsolated<I, O>(
  items: I[],
  run: (batch: I[]) => Promise<O[]>,
): Promise<Outcome<O>[]> {
  try {
    const values = await run(items);
    return values.map((value) => ({ ok: true, value }));
  } catch (error) {
    if (items.length === 1) return [{ ok: false, error }];
    const outcomes: Outcome<O>[] = [];
    for (const item of items) outcomes.push(...(await runIsolated([item], run)));
    return outcomes;
  }
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Groups a (possibly endless) stream of items into arrays of `size`, holding only one group at a time. */
export async function* batchesOf<T>(
  items: AsyncIterable<T> | Iterable<T>,
  size: number,
): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
